/**
 * Shared presence for the Redis engine: this instance's local count per room, and the cached
 * sum of the other instances' counts, refreshed by one script call per tick.
 *
 * @module
 */

import { roomKeys } from "./keys.ts";

/** What a presence tick learned about one room. */
export interface RoomTick {
  room: string;
  remote: number;
  /** True when the other instances' count differs from the previous tick's. */
  remoteChanged: boolean;
  epoch: string | null;
  offset: number;
}

/**
 * Local counts to write and remote counts read back.
 *
 * @example
 * ```ts
 * const presence = new PresenceTable("fanout");
 * presence.setLocal("lobby", 2);
 * const { keys, counts } = presence.batch();
 * presence.apply(presence.parse(reply, rooms));
 * presence.online("lobby", 2); // 2 + the other instances' count
 * ```
 */
export class PresenceTable {
  #prefix: string;
  #local = new Map<string, number>();
  #remote = new Map<string, number>();
  /** Rooms whose count must still be removed from Redis (left since the last tick). */
  #gone = new Set<string>();
  #changed = false;

  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** True when a local count changed since the last batch. */
  get changed(): boolean {
    return this.#changed;
  }

  /** Rooms with local members. */
  rooms(): string[] {
    return [...this.#local.keys()];
  }

  /** Records this instance's count for `room` (0 removes it at the next tick). */
  setLocal(room: string, count: number): void {
    if (count <= 0) {
      if (this.#local.delete(room)) {
        this.#gone.add(room);
        this.#changed = true;
      }
      this.#remote.delete(room);
      return;
    }
    if (this.#local.get(room) !== count) this.#changed = true;
    this.#local.set(room, count);
    this.#gone.delete(room);
  }

  /** Replaces every local count at once (what the hub reports each tick). */
  replaceLocal(counts: Map<string, number>): void {
    for (const room of this.#local.keys()) if (!counts.has(room)) this.setLocal(room, 0);
    for (const [room, count] of counts) this.setLocal(room, count);
  }

  /** Local count plus the cached remote count. */
  online(room: string, local: number): number {
    return local + (this.#remote.get(room) ?? 0);
  }

  /** Keys and counts for the presence script; marks the table clean. */
  batch(): { rooms: string[]; keys: string[]; counts: string[] } {
    const rooms = [...this.#local.keys(), ...this.#gone];
    const keys: string[] = [];
    const counts: string[] = [];
    for (const room of rooms) {
      const k = roomKeys(this.#prefix, room);
      keys.push(k.presence, k.epoch, k.offset, k.stream);
      counts.push(String(this.#local.get(room) ?? 0));
    }
    this.#gone.clear();
    this.#changed = false;
    return { rooms, keys, counts };
  }

  /** Decodes the script's flat reply `[remote, epoch, offset, ...]` and caches remote counts. */
  apply(rooms: string[], reply: unknown): RoomTick[] {
    if (!Array.isArray(reply) || reply.length !== rooms.length * 3) {
      throw new TypeError(`presence reply must hold ${rooms.length * 3} values`);
    }
    return rooms.map((room, i) => {
      const remote = Number(reply[i * 3]);
      const before = this.#remote.get(room) ?? 0;
      if (this.#local.has(room)) this.#remote.set(room, remote);
      const epoch = reply[i * 3 + 1];
      return {
        room,
        remote,
        remoteChanged: this.#local.has(room) && remote !== before,
        epoch: typeof epoch === "string" ? epoch : null,
        offset: Number(reply[i * 3 + 2]),
      };
    });
  }
}
