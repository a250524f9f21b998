/**
 * Sockets the client core let go of and closed itself, counted until their close event, so
 * that a caller (a test, the console client on exit) can wait until every one is really closed.
 *
 * @module
 */

import type { WebSocketLike } from "./types.ts";

/**
 * Closes sockets and tells when all of them finished closing.
 *
 * @example
 * ```ts
 * const closing = new ClosingSockets();
 * closing.close(socket, 1000, "bye"); // takes over socket.onclose
 * await closing.whenClosed(); // after the socket's close event
 * ```
 */
export class ClosingSockets {
  #count = 0;
  #waiters: (() => void)[] = [];

  /** Closes `socket` with `code` and `reason`, counting it until its close event. */
  close(socket: WebSocketLike, code: number, reason: string): void {
    this.#count++;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      if (--this.#count === 0) {
        for (const wake of this.#waiters.splice(0)) {
          wake();
        }
      }
    };
    socket.onclose = done;
    try {
      socket.close(code, reason);
    } catch {
      done();
    }
  }

  /** Resolves once every socket closed here has finished closing (at once if none). */
  whenClosed(): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
