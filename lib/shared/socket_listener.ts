/**
 * What a socket tells one listener object shared by many sockets, each call with the target the
 * socket was given: a server's sockets then hold no closures of their own (about 280 bytes per
 * connection for four handlers and their scope). Fanout's own sockets
 * (`lib/transport/server_web_socket.ts`) offer it; the hub uses it where offered, and the
 * standard `on*` handlers elsewhere.
 *
 * @module
 */

/**
 * The events of a socket, for a listener shared by many sockets.
 *
 * @example
 * ```ts
 * const listener: SocketListener<string> = {
 *   message: (id, data) => console.log(id, data),
 *   close: (id, event) => console.log(id, "closed", event.code),
 *   error: (id, message) => console.log(id, message),
 *   fail: (id, code) => console.log(id, "broke the protocol", code),
 * };
 * socket.listen(listener, "c1");
 * ```
 */
export interface SocketListener<T> {
  /** A whole message arrived. */
  message(target: T, data: string | ArrayBuffer): void;
  /** The socket closed (once). */
  close(target: T, event: { code: number; reason: string; wasClean: boolean }): void;
  /** The connection failed while open (a close follows). */
  error(target: T, message: string): void;
  /** The peer broke the protocol or a limit; the socket closes with `code` next. */
  fail(target: T, code: number, reason: string): void;
}
