/**
 * An engine the test drives by hand (what `recover` returns, when it returns, which messages are
 * delivered, when the room is reset), and a hub over fake sockets using it. For hub tests of
 * races a real engine makes hard to reproduce.
 *
 * @module
 */

import type {
  Draft,
  Engine,
  EngineEvents,
  PublishResult,
  Recovery,
  RoomMembers,
  RoomPosition,
} from "../../lib/engine/engine.ts";
import type { ChatMessage, Member } from "../../lib/protocol/frames.ts";
import { hubWith } from "./fake_hub.ts";

/**
 * A message of room `lobby` with id `<epoch>-<offset>`.
 *
 * @example
 * ```ts
 * chat("e1", 3).id; // "e1-3"
 * ```
 */
export function chat(epoch: string, offset: number, from = "other", text = `m${offset}`) {
  const m: ChatMessage = {
    type: "message",
    room: "lobby",
    offset,
    id: `${epoch}-${offset}`,
    from,
    client: null,
    name: null,
    text,
    ts: 1,
  };
  return m;
}

/**
 * An engine whose answers the test sets: `recovery` is what `recover` returns; while `hold` is
 * set, `recover` waits for it; `failRecover` makes it reject.
 *
 * @example
 * ```ts
 * const engine = new ScriptedEngine();
 * engine.recovery = { epoch: "e1", offset: 4, recovered: false, history: [] };
 * engine.deliver(chat("e1", 5));
 * ```
 */
export class ScriptedEngine implements Engine {
  readonly name = "scripted";
  healthy = true;
  recovery: Recovery = { epoch: "e1", offset: 0, recovered: false, history: [] };
  hold: Promise<void> | null = null;
  failRecover: Error | null = null;
  published: Draft[] = [];
  /** Members the hub reported, in the order they joined (one list for every room). */
  joined = new Map<string, Member>();
  #events: EngineEvents = { message: () => {} };

  start(events: EngineEvents): Promise<void> {
    this.#events = events;
    return Promise.resolve();
  }
  /** Hands `message` to the hub as the engine's feed would. */
  deliver(message: ChatMessage): void {
    this.#events.message(message);
  }
  /** Tells the hub that `room` moved to `epoch`. */
  reset(room: string, epoch: string): void {
    this.#events.reset?.(room, epoch);
  }
  publish(draft: Draft): Promise<PublishResult> {
    this.published.push(draft);
    return Promise.reject(new Error("the scripted engine accepts nothing"));
  }
  join(): Promise<void> {
    return Promise.resolve();
  }
  leave(): void {}
  async recover(): Promise<Recovery> {
    if (this.hold) await this.hold;
    if (this.failRecover) throw this.failRecover;
    return structuredClone(this.recovery);
  }
  online(_room: string, local: number): number {
    return local;
  }
  memberJoined(_room: string, member: Member): void {
    this.joined.set(member.id, member);
  }
  memberLeft(_room: string, id: string): void {
    this.joined.delete(id);
  }
  members(_room: string, limit: number, local: number): Promise<RoomMembers> {
    return Promise.resolve({ online: local, members: [...this.joined.values()].slice(0, limit) });
  }
  admission(): "known" | "new" | "full" {
    return "known";
  }

  roomCount(): number {
    return 0;
  }
  roomNames(): Iterable<string> {
    return [];
  }
  position(): RoomPosition | null {
    return null;
  }
  maintain(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  command(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A hub over {@linkcode ScriptedEngine} whose deferred work runs only when the test says so.
 *
 * @example
 * ```ts
 * const t = scriptedHub();
 * const a = await t.connect();
 * t.engine.deliver(chat("e1", 1));
 * await t.turn();
 * ```
 */
export function scriptedHub(env: Record<string, string> = {}) {
  return hubWith(() => new ScriptedEngine(), env);
}
