/**
 * A listener held in memory: `accept` resolves with the connections handed to `connect`. Fanout's
 * own server (`HttpServer.serve`, `listen`'s `listener` option) takes it in place of a socket's.
 *
 * @module
 */

import type { MemoryConn } from "./memory_conn.ts";

/**
 * The listener `listen()` takes as its `listener` option: `accept` resolves with the next
 * connection handed over through `connect`.
 *
 * @example
 * ```ts
 * const listener = new MemoryListener();
 * const server = await listen(config, { listener });
 * listener.connect(new MemoryConn(request));
 * ```
 */
export class MemoryListener {
  readonly addr = { hostname: "127.0.0.1", port: 8000 };
  #waiting: { resolve: (conn: MemoryConn) => void; reject: (err: Error) => void }[] = [];
  #ready: MemoryConn[] = [];

  /** The next connection handed over (waiting for one). */
  accept(): Promise<MemoryConn> {
    const next = this.#ready.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  /** Hands `conn` to the server, as if a client had just connected. */
  connect(conn: MemoryConn): void {
    const take = this.#waiting.shift();
    if (take) take.resolve(conn);
    else this.#ready.push(conn);
  }

  /** Rejects the accepts still waiting. */
  close(): void {
    for (const w of this.#waiting.splice(0)) w.reject(new Error("listener closed"));
  }
}
