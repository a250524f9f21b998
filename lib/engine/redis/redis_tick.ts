/**
 * The Redis engine's periodic tick: one presence script call for every joined room (counts and
 * member changes), which also returns each room's position in Redis, so the tick notices rooms
 * whose feed fell behind (a message lost on pub/sub), was lost, or was rolled back, and has their
 * stream read.
 *
 * @module
 */

import type { Logger } from "../../shared/log.ts";
import type { RoomFeed } from "../room_feed.ts";
import type { ChannelListener } from "./redis_link.ts";
import type { PresenceTable } from "./presence_table.ts";

/** A room this instance has joined. */
export interface JoinedRoom {
  feed: RoomFeed;
  listener: ChannelListener;
  /** Position seen by the previous tick while the feed was behind it. */
  suspect: { epoch: string; offset: number } | null;
}

/** Options of {@linkcode RedisTick}. */
export interface RedisTickOptions {
  presence: PresenceTable;
  rooms: Map<string, JoinedRoom>;
  /** Runs the presence script for `keys`/`args` of `PresenceTable.batch`. */
  exchange: (keys: string[], args: string[]) => Promise<unknown>;
  /** Told when the other instances' count of a room changed. */
  onRemoteChange: (room: string) => void;
  logger: Logger;
  /** Interval between ticks (ms). */
  everyMs: number;
}

/**
 * Schedules and runs the tick.
 *
 * @example
 * ```ts
 * const tick = new RedisTick({ presence, rooms, exchange, onRemoteChange, logger, everyMs: 2000 });
 * tick.schedule(); // in everyMs
 * tick.schedule(50); // a local count changed: sooner
 * ```
 */
export class RedisTick {
  #o: RedisTickOptions;
  #timer?: ReturnType<typeof setTimeout>;
  #dueAt = Infinity;
  #running = false;
  #stopped = false;

  constructor(options: RedisTickOptions) {
    this.#o = options;
  }

  /** Runs the tick in `ms` (default: the interval), unless one is already due sooner. */
  schedule(ms: number = this.#o.everyMs): void {
    const at = performance.now() + ms;
    if (this.#stopped || at >= this.#dueAt) return;
    clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(() => {
      this.#dueAt = Infinity;
      void this.#fire();
    }, ms);
  }

  /** Stops scheduling. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #fire(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    try {
      await this.run();
    } catch (err) {
      this.#o.logger.debug("redis.presence_failed", { error: String(err) });
    } finally {
      this.#running = false;
      this.schedule();
    }
  }

  /**
   * One tick: writes local counts and member changes, reads the others' counts, and checks each
   * joined room's feed. When it fails, the next one writes the members of its rooms whole.
   */
  async run(): Promise<void> {
    const { presence, rooms } = this.#o;
    const batch = presence.batch();
    if (batch.rooms.length === 0) return;
    let ticks;
    try {
      ticks = presence.apply(batch.rooms, await this.#o.exchange(batch.keys, batch.args));
    } catch (err) {
      presence.failed(batch.rooms);
      throw err;
    }
    for (const tick of ticks) {
      if (tick.remoteChanged) this.#o.onRemoteChange(tick.room);
      const joined = rooms.get(tick.room);
      if (!joined) continue;
      const { epoch, last } = joined.feed.position;
      if (tick.epoch === null || (tick.epoch === epoch && tick.offset < last)) {
        // Redis lost the room, or holds less of this epoch than was delivered (rolled back):
        // the read starts or renames the epoch, and the feed resets the room.
        joined.feed.catchUp();
        joined.suspect = null;
        continue;
      }
      // Still behind what the previous tick saw (not just a message in flight): read the stream.
      const prev = joined.suspect;
      if (prev && (epoch === prev.epoch ? last < prev.offset : epoch !== null)) {
        joined.feed.catchUp();
      }
      const behind = tick.epoch !== epoch || tick.offset > last;
      joined.suspect = behind ? { epoch: tick.epoch, offset: tick.offset } : null;
    }
  }
}
