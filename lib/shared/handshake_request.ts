/**
 * What the WebSocket route reads of a handshake request: its URL and its headers. A `Request`
 * satisfies it (under `deno serve`, and for what Fanout's own transport hands to the router);
 * Fanout's own transport gives `GET /ws` a lighter object of the same shape, read straight from
 * the request head, without building a `Request` or going through the router.
 *
 * @module
 */

/** Reads header values: `Headers` satisfies it. */
export interface HeaderReader {
  /**
   * The value of header `name` (any case): every field of that name, in order, joined with
   * `", "` as `Headers.get` does; null when there is none.
   */
  get(name: string): string | null;
}

/**
 * A handshake request as the route reads it.
 *
 * @example
 * ```ts
 * const req: HandshakeRequest = new Request("http://localhost/ws?room=lobby", {
 *   headers: { upgrade: "websocket" },
 * });
 * req.headers.get("Upgrade"); // "websocket"
 * ```
 */
export interface HandshakeRequest {
  /** The method: a handshake is a `GET`. */
  readonly method: string;
  /** The absolute URL. */
  readonly url: string;
  readonly headers: HeaderReader;
}
