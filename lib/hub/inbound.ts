/**
 * The hub's incoming path: what one frame from a connection is (the size limit, binary frames, the
 * rate limit and parsing, in that order: {@linkcode takeFrame}, pure), then carrying that out
 * ({@linkcode Inbound}): a publish to the engine (then an ack, `ref_conflict` or `unavailable`), a
 * pong, an error frame, or a close for abuse.
 *
 * @module
 */

import { Close } from "../protocol/close_codes.ts";
import type { Connection } from "./connection.ts";
import type { Draft, Engine, PublishResult } from "../engine/engine.ts";
import {
  type ErrorCode,
  type MessageBody,
  parseClientFrame,
  parsePlainFrame,
  type ServerFrame,
} from "../protocol/frames.ts";
import type { Logger } from "../shared/log.ts";
import type { Metrics } from "./metrics.ts";
import type { Outbound } from "./outbound.ts";
import type { RateLimiter } from "./rate_limiter.ts";
import { exceedsBytes } from "../shared/text_size.ts";

/** What the hub does with a frame. */
export type Intake =
  | { kind: "message"; body: MessageBody; ref: string | null; room: string | null }
  | {
    kind: "subscribe";
    room: string;
    resume: { since: number; epoch: string } | null;
    ref?: string;
  }
  | { kind: "unsubscribe"; room: string; ref?: string }
  | { kind: "ping"; t: number | null }
  | { kind: "refresh"; token: string; ref?: string }
  | { kind: "reject"; code: ErrorCode; message: string; ref?: string }
  | { kind: "close"; code: number; reason: ErrorCode; sentence: string };

/** The connection as intake sees it. */
export interface IntakeConnection {
  readonly json: boolean;
  readonly limiter: RateLimiter;
}

/** Limits that apply to incoming frames. */
export interface IntakeLimits {
  maxMessageBytes: number;
  rateLimit: number;
  /** Deepest nesting of a message's `data`. */
  maxDataDepth: number;
}

const FAR_OVER = 4;

function tooBig(): Intake {
  return {
    kind: "close",
    code: Close.tooBig,
    reason: "too_large",
    sentence: "frame far over the size limit",
  };
}

/**
 * Takes a rate token for any frame (refused ones too, so a flood of binary or oversized frames is
 * limited like any other); returns the refusal when there is none left, else null.
 */
function overRate(conn: IntakeConnection, limits: IntakeLimits, ref?: string): Intake | null {
  if (conn.limiter.take()) return null;
  if (conn.limiter.abusive) {
    return {
      kind: "close",
      code: Close.policy,
      reason: "rate_limited",
      sentence: "rate limit exceeded",
    };
  }
  const message = `too many frames: at most ${limits.rateLimit} per second`;
  return ref === undefined
    ? { kind: "reject", code: "rate_limited", message }
    : { kind: "reject", code: "rate_limited", message, ref };
}

/**
 * Classifies one frame. Frames over 4× `maxMessageBytes` (in UTF-8 bytes) close the connection
 * (1009) without taking a token; everything else takes one.
 *
 * @example
 * ```ts
 * takeFrame(conn, '{"type":"ping","t":1}', { maxMessageBytes: 65536, rateLimit: 20, maxDataDepth: 32 });
 * // { kind: "ping", t: 1 }
 * ```
 */
export function takeFrame(
  conn: IntakeConnection,
  data: string | ArrayBuffer | Blob,
  limits: IntakeLimits,
): Intake {
  const max = limits.maxMessageBytes;
  if (typeof data !== "string") {
    const size = data instanceof Blob ? data.size : data.byteLength;
    if (size > FAR_OVER * max) return tooBig();
    return overRate(conn, limits) ?? {
      kind: "reject",
      code: "unsupported_binary",
      message: "binary frames are not supported; send UTF-8 text",
    };
  }
  if (exceedsBytes(data, max)) {
    if (exceedsBytes(data, FAR_OVER * max)) return tooBig();
    return overRate(conn, limits) ?? {
      kind: "reject",
      code: "too_large",
      message: `frame is larger than the limit of ${max} bytes`,
    };
  }
  const parsed = conn.json ? parseClientFrame(data, limits.maxDataDepth) : parsePlainFrame(data);
  const ref = parsed.ok
    ? (parsed.frame.type === "ping" ? undefined : parsed.frame.ref)
    : parsed.error.ref;
  const refused = overRate(conn, limits, ref);
  if (refused) return refused;
  if (!parsed.ok) return { kind: "reject", ...parsed.error };
  const frame = parsed.frame;
  if (frame.type === "ping") return { kind: "ping", t: frame.t };
  if (frame.type === "refresh") {
    return ref === undefined
      ? { kind: "refresh", token: frame.token }
      : { kind: "refresh", token: frame.token, ref };
  }
  if (frame.type === "subscribe") {
    const { room, resume } = frame;
    return ref === undefined
      ? { kind: "subscribe", room, resume }
      : { kind: "subscribe", room, resume, ref };
  }
  if (frame.type === "unsubscribe") {
    return ref === undefined
      ? { kind: "unsubscribe", room: frame.room }
      : { kind: "unsubscribe", room: frame.room, ref };
  }
  const body: MessageBody = {};
  if (frame.text !== undefined) body.text = frame.text;
  if (Object.hasOwn(frame, "data")) body.data = frame.data;
  return { kind: "message", body, ref: frame.ref ?? null, room: frame.room ?? null };
}

/** What {@linkcode Inbound} needs from the hub. */
export interface InboundOptions {
  limits: IntakeLimits;
  engine: Engine;
  logger: Logger;
  metrics: Metrics;
  out: Outbound;
  /** Checks a `refresh` frame's token and answers it (`token_lifecycle.ts`). */
  refresh: (conn: Connection, token: string, ref: string | undefined) => void;
  /** A `subscribe` frame (`Hub.subscribe`). */
  subscribe: (
    conn: Connection,
    room: string,
    resume: { since: number; epoch: string } | null,
    ref: string | undefined,
  ) => void;
  /** An `unsubscribe` frame (`Hub.unsubscribe`). */
  unsubscribe: (conn: Connection, room: string, ref: string | undefined) => void;
}

/**
 * Carries out {@linkcode takeFrame}'s decision for each incoming frame.
 *
 * @example
 * ```ts
 * const inbound = new Inbound({ limits: config, engine, logger, metrics, out });
 * inbound.receive(conn, '{"type":"ping","t":1}'); // queues {"type":"pong","t":1}
 * ```
 */
export class Inbound {
  #o: InboundOptions;

  constructor(options: InboundOptions) {
    this.#o = options;
  }

  /** Handles one incoming frame of an open or joining connection. */
  receive(conn: Connection, data: string | ArrayBuffer | Blob): void {
    const intake = takeFrame(conn, data, this.#o.limits);
    switch (intake.kind) {
      case "message":
        return this.#publish(conn, intake.body, intake.ref, intake.room);
      case "subscribe":
        return this.#o.subscribe(conn, intake.room, intake.resume, intake.ref);
      case "unsubscribe":
        return this.#o.unsubscribe(conn, intake.room, intake.ref);
      case "ping":
        return this.#o.out.send(conn, { type: "pong", t: intake.t });
      case "refresh":
        return this.#o.refresh(conn, intake.token, intake.ref);
      case "reject":
        return this.#reject(conn, intake.code, intake.message, intake.ref);
      case "close":
        return this.#abuse(conn, intake.code, intake.reason, intake.sentence);
    }
  }

  #publish(conn: Connection, body: MessageBody, ref: string | null, to: string | null): void {
    // Without `room`, the handshake's room is meant.
    const sub = conn.subs.get(to ?? conn.room);
    const room = to ?? conn.room;
    if (!sub) {
      return this.#reject(
        conn,
        "not_subscribed",
        `not subscribed to room ${room}: subscribe first`,
        ref ?? undefined,
        room,
      );
    }
    if (sub.access !== "rw") {
      return this.#reject(
        conn,
        "forbidden",
        `read-only: ${
          conn.identity?.user == null ? "anonymous readers" : "your token"
        } may not send in room ${room}`,
        ref ?? undefined,
        conn.multiRoom ? room : undefined,
      );
    }
    if (sub.state === "joining") sub.sentWhileJoining = true;
    const named = conn.multiRoom ? room : undefined;
    const draft: Draft = {
      room,
      from: conn.id,
      client: conn.client,
      name: conn.name,
      ...body,
      ref,
    };
    const identity = conn.identity;
    if (identity !== null && identity.user !== null) {
      draft.user = identity.user;
      if (identity.info !== null) draft.info = identity.info;
    }
    const engine = this.#o.engine;
    if (engine.publishNow) {
      let result: PublishResult;
      try {
        result = engine.publishNow(draft);
      } catch (err) {
        return this.#unstored(conn, room, err, ref, named);
      }
      return this.#published(conn, result, ref, named);
    }
    engine.publish(draft).then(
      (result) => this.#published(conn, result, ref, named),
      (err) => this.#unstored(conn, room, err, ref, named),
    );
  }

  /** A publish the engine could not store: logged, and its sender told to retry. */
  #unstored(
    conn: Connection,
    room: string,
    err: unknown,
    ref: string | null,
    named: string | undefined,
  ): void {
    this.#o.logger.warn("publish.failed", { id: conn.id, room, error: String(err) });
    this.#reject(
      conn,
      "unavailable",
      "the message could not be stored; it was not sent, retry later",
      ref ?? undefined,
      named,
    );
  }

  /** Answers a publish: its ack, or its refusal (a ref used for another text). */
  #published(
    conn: Connection,
    result: PublishResult,
    ref: string | null,
    named: string | undefined,
  ): void {
    if (result.status === "conflict") {
      return this.#reject(
        conn,
        "ref_conflict",
        `ref ${JSON.stringify(ref)} was already used for a different message; ` +
          "send it with a new ref",
        ref ?? undefined,
        named,
      );
    }
    if (result.status === "accepted") this.#o.metrics.messagesIn++;
    if (!conn.json) return;
    const ack = result.status === "accepted" ? result.message : result;
    // A connection in several rooms is told which one each ack is about.
    const frame: ServerFrame = { type: "ack", ref, offset: ack.offset, ts: ack.ts };
    if (named !== undefined) frame.room = named;
    this.#o.out.send(conn, frame);
  }

  #reject(
    conn: Connection,
    code: ErrorCode,
    message: string,
    ref?: string,
    room?: string,
  ): void {
    this.#o.metrics.reject(code);
    const frame: ServerFrame = { type: "error", code, message };
    if (ref !== undefined) frame.ref = ref;
    if (room !== undefined) frame.room = room;
    this.#o.out.send(conn, frame);
  }

  #abuse(conn: Connection, code: number, reason: ErrorCode, sentence: string): void {
    this.#o.metrics.reject(reason);
    this.#o.logger.info("ws.closed_abusive", { id: conn.id, room: conn.room, code, reason });
    this.#o.out.end(conn, code, sentence);
  }
}
