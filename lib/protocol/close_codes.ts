/**
 * Every WebSocket close code Fanout uses, with what it means and what a client should do: the
 * server's closes, the transport's own (protocol errors and limits), and the client core's. One
 * table, so a code is never written as a bare number.
 *
 * @module
 */

/**
 * Close codes by name.
 *
 * @example
 * ```ts
 * socket.close(Close.restart, "server restarting");
 * if (event.code === Close.slowConsumer) reconnectAndResume();
 * ```
 */
export const Close = {
  /** Normal close (a client leaving, or a room switch). */
  normal: 1000,
  /** The server heard nothing for `IDLE_TIMEOUT_SECONDS` (it pinged half-way). */
  idle: 1001,
  /** The client broke the WebSocket protocol (unmasked frame, reserved bits or opcode, ...). */
  protocolError: 1002,
  /** A text frame is not valid UTF-8. */
  invalidData: 1007,
  /** Sustained abuse: `RATE_LIMIT_CLOSE_AFTER` rejections within 10 s. Back off long. */
  policy: 1008,
  /** A message over 4 × `MAX_MESSAGE_BYTES`, fragments included. */
  tooBig: 1009,
  /** The room could not be loaded or a send failed (engine unavailable). */
  unavailable: 1011,
  /** Restart, shutdown, or the room's history reset under the connection: rejoin and resume. */
  restart: 1012,
  /** `INBOUND_MEMORY_MB` is held by incomplete incoming messages: retry later. */
  busy: 1013,
  /** Client core: the connection gave no sign of life (no welcome, no pong) in time. */
  dead: 4000,
  /** Slow consumer: too much waited for the socket; reconnect and resume. */
  slowConsumer: 4008,
  /** The token expired without a refresh: get a new token, then reconnect and resume. */
  tokenExpired: 4401,
  /**
   * The token is refused (a refresh with another user, a room no longer granted, a user
   * disconnected by the application): do not reconnect with the same token.
   */
  forbidden: 4403,
} as const;

/** One of the codes of {@linkcode Close}. */
export type CloseCode = typeof Close[keyof typeof Close];
