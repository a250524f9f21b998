/**
 * What the server tells a request handler about the connection: the shape `Deno.serve` gives, and
 * Fanout's own server gives the same.
 *
 * @module
 */

/**
 * The connection a request came on (what a handler needs of it: the peer's address).
 *
 * @example
 * ```ts
 * const info: RequestInfo = { remoteAddr: { transport: "tcp", hostname: "203.0.113.9", port: 51000 } };
 * info.remoteAddr.hostname; // "203.0.113.9"
 * ```
 */
export interface RequestInfo {
  remoteAddr: { hostname?: string; port?: number; transport?: string };
}
