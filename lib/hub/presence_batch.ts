/**
 * Coalesced presence: joins and leaves of one room within a window become one frame per
 * connection, so a burst of N joins costs O(N) frames, not O(N²).
 *
 * @module
 */

import type { Peer, ServerFrame } from "../protocol/frames.ts";

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
   * batch.take(2); // { type: "presence", online: 2, joined: { id: "c1", name: "Ann" } }
   * ```
   */
  take(online: number): ServerFrame {
    const { joined, left } = this;
    this.clear();
    if (joined.length === 0 && left.length === 0) return { type: "presence", online };
    if (joined.length === 1 && left.length === 0) {
      return { type: "presence", online, joined: joined[0] };
    }
    if (left.length === 1 && joined.length === 0) {
      return { type: "presence", online, left: left[0] };
    }
    return { type: "presence", online, joins: joined.length, leaves: left.length };
  }

  /** Drops what waits, unannounced. */
  clear(): void {
    this.joined = [];
    this.left = [];
    this.remote = false;
  }
}
