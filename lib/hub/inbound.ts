/**
 * The hub's incoming path: one frame from a connection becomes a publish to the engine (then an
 * ack, `ref_conflict` or `unavailable`), a pong, an error frame, or a close for abuse.
 *
 * @module
 */

import type { Connection } from "./connection.ts";
import type { Engine } from "../engine/engine.ts";
import { type IntakeLimits, takeFrame } from "./intake.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "./metrics.ts";
import type { Outbound } from "./outbound.ts";
import type { ErrorCode } from "../protocol/frames.ts";

/** What the frame router needs from the hub. */
export interface FrameRouterOptions {
  limits: IntakeLimits;
  engine: Engine;
  logger: Logger;
  metrics: Metrics;
  out: Outbound;
}

/**
 * Carries out {@linkcode takeFrame}'s decision for each incoming frame.
 *
 * @example
 * ```ts
 * const frames = new FrameRouter({ limits: config, engine, logger, metrics, out });
 * frames.receive(conn, '{"type":"ping","t":1}'); // queues {"type":"pong","t":1}
 * ```
 */
export class FrameRouter {
  #o: FrameRouterOptions;

  constructor(options: FrameRouterOptions) {
    this.#o = options;
  }

  /** Handles one incoming frame of an open or joining connection. */
  receive(conn: Connection, data: string | ArrayBuffer | Blob): void {
    const intake = takeFrame(conn, data, this.#o.limits);
    switch (intake.kind) {
      case "message":
        return this.#publish(conn, intake.text, intake.ref);
      case "ping":
        return this.#o.out.send(conn, { type: "pong", t: intake.t });
      case "reject":
        return this.#reject(conn, intake.code, intake.message, intake.ref);
      case "close":
        return this.#abuse(conn, intake.code, intake.reason, intake.sentence);
    }
  }

  #publish(conn: Connection, text: string, ref: string | null): void {
    const draft = {
      room: conn.room,
      from: conn.id,
      client: conn.client,
      name: conn.name,
      text,
      ref,
    };
    this.#o.engine.publish(draft).then(
      (result) => {
        if (result.status === "conflict") {
          return this.#reject(
            conn,
            "ref_conflict",
            `ref ${JSON.stringify(ref)} was already used for a different message; ` +
              "send it with a new ref",
            ref ?? undefined,
          );
        }
        if (result.status === "accepted") this.#o.metrics.messagesIn++;
        if (!conn.json) return;
        const ack = result.status === "accepted" ? result.message : result;
        this.#o.out.send(conn, { type: "ack", ref, offset: ack.offset, ts: ack.ts });
      },
      (err) => {
        this.#o.logger.warn("publish.failed", { id: conn.id, room: conn.room, error: String(err) });
        this.#reject(
          conn,
          "unavailable",
          "the message could not be stored; it was not sent, retry later",
          ref ?? undefined,
        );
      },
    );
  }

  #reject(conn: Connection, code: ErrorCode, message: string, ref?: string): void {
    this.#o.metrics.reject(code);
    this.#o.out.send(
      conn,
      ref === undefined ? { type: "error", code, message } : { type: "error", code, message, ref },
    );
  }

  #abuse(conn: Connection, code: number, reason: ErrorCode, sentence: string): void {
    this.#o.metrics.reject(reason);
    this.#o.logger.info("ws.closed_abusive", { id: conn.id, room: conn.room, code, reason });
    this.#o.out.end(conn, code, sentence);
  }
}
