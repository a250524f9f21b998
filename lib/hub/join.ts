/**
 * The join flow of a connection: the engine's recovery, the welcome with its history, the
 * messages delivered while it was read, and the refusal when the room cannot be loaded.
 *
 * @module
 */

import { Close } from "../protocol/close_codes.ts";
import type { Connection } from "./connection.ts";
import { type Engine, epochOf, type Recovery } from "../engine/engine.ts";
import type { Handshake } from "../protocol/handshake.ts";
import type { HubConfig } from "./hub_options.ts";
import type { LocalRoom } from "./room.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "./metrics.ts";
import type { Outbound } from "./outbound.ts";
import type { PresenceSchedule } from "./presence.ts";
import { encodeWelcome } from "./welcome.ts";

/** What the join flow needs from the hub. */
export interface JoinFlowOptions {
  config: Pick<
    HubConfig,
    "historyOnJoin" | "maxMessageBytes" | "rateLimit" | "rateBurst" | "maxBufferedBytes"
  >;
  engine: Engine;
  logger: Logger;
  metrics: Metrics;
  out: Outbound;
  presence: PresenceSchedule;
  /** The local room named `name`, created (and joined in the engine) when new. */
  room: (name: string) => LocalRoom;
  /** Closes `conn` with 1012 so that its client rejoins. */
  restart: (conn: Connection, reason: string) => void;
}

/**
 * Turns a new connection into a member of its room.
 *
 * @example
 * ```ts
 * const join = new JoinFlow({ config, engine, logger, metrics, out, presence, room, restart });
 * await join.open(conn, handshake.resume);
 * ```
 */
export class JoinFlow {
  #o: JoinFlowOptions;

  constructor(options: JoinFlowOptions) {
    this.#o = options;
  }

  /** Joins the room and sends the welcome with history (or the refusal). */
  async open(conn: Connection, resume: Handshake["resume"]): Promise<void> {
    const { engine, config } = this.#o;
    const room = this.#o.room(conn.room);
    if (!room.joining.has(conn)) room.joining.set(conn, []);
    const resets = room.resets;
    try {
      await room.ready;
      const recovery = await engine.recover(conn.room, resume, config.historyOnJoin);
      const online = engine.online(conn.room, room.size);
      if (conn.state === "closed") return;
      if (room.resets !== resets && room.epoch !== recovery.epoch) {
        // The room's epoch changed while this recovery was read: it may describe the old one.
        return this.#o.restart(conn, "room history was reset; rejoin");
      }
      this.#welcome(conn, room, recovery, online, resume !== null);
    } catch (err) {
      this.#refuse(conn, err);
    }
  }

  #welcome(
    conn: Connection,
    room: LocalRoom,
    recovery: Recovery,
    online: number,
    resumed: boolean,
  ): void {
    const { config, out } = this.#o;
    const { maxMessageBytes, rateLimit, rateBurst } = config;
    const limits = { maxMessageBytes, rateLimit, rateBurst };
    // A welcome fits in what the connection may have queued before it counts as slow, with as
    // much room again for the live messages that follow it.
    const welcome = conn.json
      ? encodeWelcome(conn, recovery, online, limits, resumed, 2 * config.maxBufferedBytes)
      : null;
    const held = room.joining.get(conn) ?? [];
    room.joining.delete(conn);
    room.members.add(conn);
    conn.state = "open";
    conn.epoch = recovery.epoch;
    conn.floor = recovery.offset;
    if (welcome) conn.pushFirst(welcome.json);
    for (const m of held) {
      if (m.offset > recovery.offset && epochOf(m) === conn.epoch) {
        out.queue(conn, conn.json ? JSON.stringify(m) : m.text);
      }
    }
    out.queue(conn, null);
    this.#o.presence.announce(room, "joined", conn);
    this.#o.logger.debug("ws.join", {
      id: conn.id,
      room: conn.room,
      recovered: welcome?.recovered ?? recovery.recovered,
      dropped: welcome?.dropped,
    });
  }

  #refuse(conn: Connection, err: unknown): void {
    this.#o.logger.warn("ws.join_failed", { id: conn.id, room: conn.room, error: String(err) });
    this.#o.metrics.reject("unavailable");
    this.#o.out.send(conn, {
      type: "error",
      code: "unavailable",
      message: "the server cannot load this room now; retry shortly",
    });
    this.#o.out.end(conn, Close.unavailable, "room unavailable");
  }
}
