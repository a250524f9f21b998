/**
 * When presence frames leave: joins and leaves of a room are batched for `PRESENCE_INTERVAL_MS`
 * (or until the end of the turn when it is 0), then each JSON member gets one frame. A batch of a
 * big room lasts at least members / `PRESENCE_FRAMES_PER_SECOND` seconds, so that joins and leaves
 * in a room of N members never cost more than that many frames per second, whatever the churn.
 *
 * @module
 */

import type { Timers } from "../shared/timers.ts";
import type { Connection } from "./connection.ts";
import type { LocalRoom } from "./local_room.ts";
import type { Metrics } from "./metrics.ts";
import type { Peer } from "../protocol/frames.ts";

/**
 * A connection as presence shows it: its id and name, and in auth mode its user and info (none
 * for an anonymous reader).
 *
 * @example
 * ```ts
 * peerOf(conn); // { id: "c4kq1x0-8", name: "Ann", user: "ann", info: { team: 42 } }
 * ```
 */
export function peerOf(conn: Connection): Peer {
  const peer: Peer = { id: conn.id, name: conn.name };
  const identity = conn.identity;
  if (identity != null && identity.user !== null) {
    peer.user = identity.user;
    if (identity.info !== null) peer.info = identity.info;
  }
  return peer;
}

/** Options of {@linkcode PresenceSchedule}. */
export interface PresenceScheduleOptions {
  /** Batch window in ms; 0 sends at the end of the turn. */
  intervalMs: number;
  /**
   * Presence frames one room may cost per second (default: no bound). A room with more members
   * than this times the window gets a longer window: members × 1000 / this, in ms.
   */
  framesPerSecond?: number;
  defer: (fn: () => void) => void;
  timers: Timers;
  /** Connections online in `room` across instances, given the local count. */
  online: (room: string, local: number) => number;
  /** Queues one frame for a connection. */
  queue: (conn: Connection, frame: string) => void;
  metrics: Metrics;
}

/**
 * Announces joins, leaves and remote count changes, one batch per room and window.
 *
 * @example
 * ```ts
 * const presence = new PresenceSchedule({ intervalMs: 100, defer, setTimer, online, queue, metrics });
 * presence.announce(room, "joined", conn); // members get one frame within 100 ms
 * // with framesPerSecond: 4000, a room of 10 000 members batches for 2 500 ms instead
 * ```
 */
export class PresenceSchedule {
  #o: PresenceScheduleOptions;
  #msPerMember: number;

  constructor(options: PresenceScheduleOptions) {
    this.#o = options;
    this.#msPerMember = 1000 / (options.framesPerSecond ?? Infinity);
  }

  /**
   * How long the next batch of `room` waits, in ms: `PRESENCE_INTERVAL_MS`, or longer when the
   * room's members would otherwise cost more than `framesPerSecond` frames per second.
   */
  windowMs(room: LocalRoom): number {
    return Math.max(this.#o.intervalMs, Math.floor(room.members.size * this.#msPerMember));
  }

  /** Records that `conn` joined or left `room`. */
  announce(room: LocalRoom, kind: "joined" | "left", conn: Connection): void {
    room.presence[kind].push(peerOf(conn));
    this.#schedule(room);
  }

  /** Records that other instances changed the number online in `room`. */
  remote(room: LocalRoom): void {
    room.presence.remote = true;
    this.#schedule(room);
  }

  #schedule(room: LocalRoom): void {
    if (room.presence.scheduled) return;
    room.presence.scheduled = true;
    const run = () => {
      room.presence.scheduled = false;
      // Nobody to tell. The room may even be gone (its last member left): asking the engine
      // would report 0 here, also while a new room of that name is being joined (Redis).
      if (room.members.size === 0) return room.presence.clear();
      if (room.presence.empty) return;
      const online = this.#o.online(room.name, room.size);
      const frame = JSON.stringify(room.presence.take(online, room.name));
      for (const member of room.members) {
        if (!member.conn.json) continue;
        this.#o.queue(member.conn, frame);
        this.#o.metrics.presenceFrames++;
      }
    };
    const ms = this.windowMs(room);
    if (ms === 0) this.#o.defer(run);
    else this.#o.timers.setTimer(run, ms);
  }
}
