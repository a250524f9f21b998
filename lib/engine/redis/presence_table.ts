/**
 * Shared presence for the Redis engine: this instance's local count and members per room, and the
 * cached sum of the other instances' counts, exchanged by one script call per tick. Members are
 * written as changes (joins and leaves since the previous tick), or whole when Redis may have lost
 * them (a new room, a failed tick, a count that did not match).
 *
 * @module
 */

import type { Member } from "../../protocol/frames.ts";
import { roomKeys } from "./keys.ts";

/** What a presence tick learned about one room. */
export interface RoomTick {
  room: string;
  remote: number;
  /** True when the other instances' count differs from the previous tick's. */
  remoteChanged: boolean;
  epoch: string | null;
  offset: number;
  /** True when Redis held another number of this instance's members (rewritten next tick). */
  resync: boolean;
}

/** Values of the presence script's reply per room. */
const REPLY_WIDTH = 4;

/**
 * Local counts and members to write, remote counts read back.
 *
 * @example
 * ```ts
 * const presence = new PresenceTable("fanout", "k3v9x0qa1b2c");
 * presence.setLocal("lobby", 2);
 * presence.addMember("lobby", { id: "c1", name: "Ann", client: null });
 * const { rooms, keys, args } = presence.batch();
 * presence.apply(rooms, await store.presence(instanceId, keys, args));
 * presence.online("lobby", 2); // 2 + the other instances' count
 * ```
 */
export class PresenceTable {
  #prefix: string;
  #instance: string;
  #local = new Map<string, number>();
  #remote = new Map<string, number>();
  /** Rooms whose count must still be removed from Redis (left since the last tick). */
  #gone = new Set<string>();
  #changed = false;
  /** This instance's members of each room, in the order they joined. */
  #members = new Map<string, Map<string, Member>>();
  /** Joins (the member) and leaves (null) since the last batch, per room. */
  #pending = new Map<string, Map<string, Member | null>>();
  /** Rooms whose members the next batch writes whole (after deleting what Redis holds). */
  #rewrite = new Set<string>();

  constructor(prefix: string, instance: string) {
    this.#prefix = prefix;
    this.#instance = instance;
  }

  /** True when a local count or member changed since the last batch. */
  get changed(): boolean {
    return this.#changed;
  }

  /** Rooms with local members. */
  rooms(): string[] {
    return [...this.#local.keys()];
  }

  /** Records this instance's count for `room` (0 removes it and its members at the next tick). */
  setLocal(room: string, count: number): void {
    if (count <= 0) {
      if (this.#local.delete(room)) {
        this.#gone.add(room);
        this.#changed = true;
      }
      this.#remote.delete(room);
      this.#members.delete(room);
      this.#pending.delete(room);
      this.#rewrite.delete(room);
      return;
    }
    if (!this.#local.has(room)) this.#rewrite.add(room);
    if (this.#local.get(room) !== count) this.#changed = true;
    this.#local.set(room, count);
    this.#gone.delete(room);
  }

  /** Replaces every local count at once (what the hub reports each tick). */
  replaceLocal(counts: Map<string, number>): void {
    for (const room of this.#local.keys()) if (!counts.has(room)) this.setLocal(room, 0);
    for (const [room, count] of counts) this.setLocal(room, count);
  }

  /**
   * Caches the other instances' count of a joined room read outside a tick; true when it changed
   * (dropped with the room when it is left: `setLocal(room, 0)`).
   */
  setRemote(room: string, remote: number): boolean {
    const before = this.#remote.get(room) ?? 0;
    this.#remote.set(room, remote);
    return remote !== before;
  }

  /** Local count plus the cached remote count. */
  online(room: string, local: number): number {
    return local + (this.#remote.get(room) ?? 0);
  }

  /**
   * Records that `member` joined `room` on this instance. Members count as local connections: the
   * room's count is raised to their number when it is lower (the hub reports the exact count).
   */
  addMember(room: string, member: Member): void {
    let members = this.#members.get(room);
    if (!members) this.#members.set(room, members = new Map());
    members.set(member.id, member);
    if ((this.#local.get(room) ?? 0) < members.size) this.setLocal(room, members.size);
    this.#note(room, member.id, member);
  }

  /** Records that the member `id` left `room`; false when it was not a member. */
  removeMember(room: string, id: string): boolean {
    if (!this.#members.get(room)?.delete(id)) return false;
    this.#note(room, id, null);
    return true;
  }

  #note(room: string, id: string, member: Member | null): void {
    this.#changed = true;
    if (this.#rewrite.has(room)) return;
    let pending = this.#pending.get(room);
    if (!pending) this.#pending.set(room, pending = new Map());
    pending.set(id, member);
  }

  /** Up to `limit` of this instance's members of `room`, in the order they joined. */
  localMembers(room: string, limit: number): Member[] {
    const out: Member[] = [];
    for (const member of this.#members.get(room)?.values() ?? []) {
      if (out.length >= limit) break;
      out.push(member);
    }
    return out;
  }

  /**
   * Keys and arguments of the presence script (see `PRESENCE_LUA`); marks the table clean. Per
   * room: the count, whether the members are written whole, how many this instance has, how
   * many are set and deleted, then the `id, JSON` pairs set and the ids deleted.
   */
  batch(): { rooms: string[]; keys: string[]; args: string[] } {
    const rooms = [...this.#local.keys(), ...this.#gone];
    const keys: string[] = [];
    const args: string[] = [];
    for (const room of rooms) {
      const k = roomKeys(this.#prefix, room);
      keys.push(k.presence, k.epoch, k.offset, k.stream, k.members(this.#instance));
      const count = this.#local.get(room) ?? 0;
      const members = this.#members.get(room);
      const whole = this.#rewrite.has(room);
      const changes: Iterable<[string, Member | null]> = count === 0
        ? []
        : whole
        ? members?.entries() ?? []
        : this.#pending.get(room)?.entries() ?? [];
      const sets: string[] = [];
      const deletes: string[] = [];
      for (const [id, member] of changes) {
        if (member === null) deletes.push(id);
        else sets.push(id, JSON.stringify(member));
      }
      args.push(
        String(count),
        whole ? "1" : "0",
        String(members?.size ?? 0),
        String(sets.length / 2),
        String(deletes.length),
        ...sets,
        ...deletes,
      );
    }
    this.#gone.clear();
    this.#pending.clear();
    this.#rewrite.clear();
    this.#changed = false;
    return { rooms, keys, args };
  }

  /**
   * A batch of `rooms` did not reach Redis (or its reply was lost): their members are written
   * whole at the next tick, and the rooms left since are removed again.
   */
  failed(rooms: string[]): void {
    for (const room of rooms) {
      if (this.#local.has(room)) {
        this.#rewrite.add(room);
        this.#pending.delete(room);
      } else {
        this.#gone.add(room);
      }
    }
    this.#changed = true;
  }

  /**
   * Decodes the script's flat reply `[remote, epoch, offset, resync, ...]`, caches remote counts
   * and marks for a rewrite the rooms whose members Redis did not hold as this instance has them.
   */
  apply(rooms: string[], reply: unknown): RoomTick[] {
    if (!Array.isArray(reply) || reply.length !== rooms.length * REPLY_WIDTH) {
      throw new TypeError(`presence reply must hold ${rooms.length * REPLY_WIDTH} values`);
    }
    return rooms.map((room, i) => {
      const at = i * REPLY_WIDTH;
      const remote = Number(reply[at]);
      const before = this.#remote.get(room) ?? 0;
      const local = this.#local.has(room);
      if (local) this.#remote.set(room, remote);
      const epoch = reply[at + 1];
      const resync = local && Number(reply[at + 3]) === 1;
      if (resync) {
        this.#rewrite.add(room);
        this.#pending.delete(room);
      }
      return {
        room,
        remote,
        remoteChanged: local && remote !== before,
        epoch: typeof epoch === "string" ? epoch : null,
        offset: Number(reply[at + 2]),
        resync,
      };
    });
  }
}

/**
 * Decodes the members script's reply (JSON members of other instances), skipping what is not a
 * member (a value that is not JSON, or has no string `id`).
 *
 * @example
 * ```ts
 * decodeMembers(['{"id":"c1","name":"Ann","client":null}', "junk"]); // [{ id: "c1", ... }]
 * ```
 */
export function decodeMembers(reply: unknown): Member[] {
  if (!Array.isArray(reply)) throw new TypeError("members reply must be an array");
  const out: Member[] = [];
  for (const value of reply) {
    try {
      const member = JSON.parse(String(value));
      if (typeof member?.id === "string") out.push(member);
    } catch {
      // not a member: skipped
    }
  }
  return out;
}
