/**
 * One room as this process holds it: its members, the connections still joining (with the
 * messages held for them until their welcome), presence waiting to be announced, and what the
 * engine last said about the room's epoch.
 *
 * @module
 */

import type { Subscription } from "./connection.ts";
import type { RoomRun, RunHolder } from "./room_run.ts";
import type { ChatMessage, Peer, ServerFrame } from "../protocol/frames.ts";

/**
 * The local state of one room.
 *
 * @example
 * ```ts
 * const room = new LocalRoom("lobby", engine.join("lobby"));
 * room.joining.set(subscription, []);
 * room.size; // 1
 * ```
 */
export class LocalRoom implements RunHolder {
  /** The subscriptions of this room that got their welcome. */
  readonly members = new MemberSet();
  /** Subscriptions waiting for their welcome, with the messages delivered meanwhile. */
  readonly joining = new Map<Subscription, ChatMessage[]>();
  readonly presence = new PresenceBatch();
  /** Epoch announced by the engine's latest reset of this room (null before any). */
  epoch: string | null = null;
  /** How many resets the engine announced. */
  resets = 0;
  /** This turn's messages for JSON and for plain members (`Outbound.run`). */
  jsonRun: RoomRun | null = null;
  plainRun: RoomRun | null = null;

  /** True once `ready` has resolved (the engine joined the room); false while it has not. */
  isReady = false;

  constructor(readonly name: string, readonly ready: Promise<void>) {
    // A rejection is the joiners' to handle (they await `ready`); this only takes note of success.
    ready.then(() => this.isReady = true, () => {});
  }

  /** Members and joiners. */
  get size(): number {
    return this.members.size + this.joining.size;
  }
}

/**
 * A room's members: a `Set` that counts its changes (`version`), so that a room's run can tell
 * whether the members it was taken for are still the members.
 *
 * @example
 * ```ts
 * const members = new MemberSet();
 * const before = members.version;
 * members.add(subscription);
 * members.version !== before; // true
 * ```
 */
export class MemberSet extends Set<Subscription> {
  version = 0;

  override add(sub: Subscription): this {
    this.version++;
    return super.add(sub);
  }

  override delete(sub: Subscription): boolean {
    this.version++;
    return super.delete(sub);
  }

  override clear(): void {
    this.version++;
    super.clear();
  }
}

/** Changes of one room waiting to be announced. */
export class PresenceBatch {
  joined: Peer[] = [];
  left: Peer[] = [];
  scheduled = false;
  /** Set when another instance changed the room's count (Redis engine). */
  remote = false;

  /** True when nothing waits. */
  get empty(): boolean {
    return this.joined.length === 0 && this.left.length === 0 && !this.remote;
  }

  /**
   * Builds the frame for the batch and empties it: a single join or leave names the peer,
   * a larger burst gives counts.
   *
   * @example
   * ```ts
   * const batch = new PresenceBatch();
   * batch.joined.push({ id: "c1", name: "Ann" });
   * batch.take(2, "lobby"); // { type: "presence", room: "lobby", online: 2, joined: { id: "c1", name: "Ann" } }
   * ```
   */
  take(online: number, room: string): ServerFrame {
    const { joined, left } = this;
    this.clear();
    if (joined.length === 0 && left.length === 0) return { type: "presence", room, online };
    if (joined.length === 1 && left.length === 0) {
      return { type: "presence", room, online, joined: joined[0] };
    }
    if (left.length === 1 && joined.length === 0) {
      return { type: "presence", room, online, left: left[0] };
    }
    return { type: "presence", room, online, joins: joined.length, leaves: left.length };
  }

  /** Drops what waits, unannounced. */
  clear(): void {
    this.joined = [];
    this.left = [];
    this.remote = false;
  }
}
