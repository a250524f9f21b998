/**
 * The member lists of an engine that serves one process (memory, KV): who is in each room, in the
 * order they joined, kept in memory only (presence is never durable).
 *
 * @module
 */

import { memberLimit, type RoomMembers } from "./engine.ts";
import type { Member } from "../protocol/frames.ts";

/**
 * Members per room, for `Engine.memberJoined`, `memberLeft` and `members`.
 *
 * @example
 * ```ts
 * const members = new LocalMembers();
 * members.joined("lobby", { id: "c1", name: "Ann", client: null });
 * await members.list("lobby", 10, 1); // { online: 1, members: [{ id: "c1", ... }] }
 * ```
 */
export class LocalMembers {
  #rooms = new Map<string, Map<string, Member>>();
  /**
   * The last list made per room, while it stays right: a member who joins later is past it (join
   * order) unless the list was short of its limit, so the joiners of a large room all get the same
   * array (and the welcome's JSON of it is made once: `lib/hub/join_flow.ts`).
   */
  #lists = new Map<string, { limit: number; members: readonly Member[] }>();

  /** `member` joined `room`. */
  joined(room: string, member: Member): void {
    let members = this.#rooms.get(room);
    if (!members) this.#rooms.set(room, members = new Map());
    members.set(member.id, member);
    const list = this.#lists.get(room);
    if (list && list.members.length < list.limit) this.#lists.delete(room);
  }

  /** The member `id` left `room`. */
  left(room: string, id: string): void {
    const members = this.#rooms.get(room);
    if (members?.delete(id) && members.size === 0) this.#rooms.delete(room);
    const list = this.#lists.get(room);
    if (list && list.members.some((m) => m.id === id)) this.#lists.delete(room);
  }

  /**
   * Up to `limit` members of `room` in join order, with `local` as the count online (one
   * process: its own count is everyone). Rejects with a `RangeError` for a bad `limit`.
   */
  list(room: string, limit: number, local: number): Promise<RoomMembers> {
    try {
      return Promise.resolve(this.listNow(room, limit, local));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** {@linkcode LocalMembers.list} at once: throws the `RangeError` it would reject with. */
  listNow(room: string, limit: number, local: number): RoomMembers {
    memberLimit(limit);
    const cached = this.#lists.get(room);
    if (cached?.limit === limit) return { online: local, members: cached.members };
    const out: Member[] = [];
    for (const member of this.#rooms.get(room)?.values() ?? []) {
      if (out.length >= limit) break;
      out.push(member);
    }
    this.#lists.set(room, { limit, members: out });
    return { online: local, members: out };
  }

  /** Forgets `room` (its last connection left). */
  forget(room: string): void {
    this.#rooms.delete(room);
    this.#lists.delete(room);
  }

  /** Forgets every room. */
  clear(): void {
    this.#rooms.clear();
    this.#lists.clear();
  }
}
