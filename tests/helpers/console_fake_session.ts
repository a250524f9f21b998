/**
 * A console session (`runSession`) on the fake client core, network and clock, recording what it
 * prints, for unit tests of the console client.
 *
 * @module
 */

import type { ConsoleOptions } from "../../lib/console/args.ts";
import { InputQueue } from "../../lib/console/input.ts";
import { runSession } from "../../lib/console/session.ts";
import { fakeClient } from "./fake_socket.ts";

/** Options of the sessions under test (`--timeout 2`). */
export const options: ConsoleOptions = {
  url: "ws://h/ws",
  room: "lobby",
  name: null,
  token: null,
  json: false,
  timeoutSeconds: 2,
  help: false,
};

/**
 * Lets pending promise callbacks run (no time passes on the fake clock).
 *
 * @example
 * ```ts
 * s.input.push({ kind: "line", text: "hi" });
 * await settle(); // the session has sent it
 * ```
 */
export const settle = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Starts a session; `interactive` as if typed in a terminal, else piped. Quitting waits
 * `quitWaitMs` (fake time) for acks; the close handshake wait is 10 ms.
 *
 * @example
 * ```ts
 * const s = fakeSession(false);
 * s.input.push({ kind: "eof" });
 * s.net.last.open();
 * ```
 */
export function fakeSession(
  interactive: boolean,
  extra: Partial<ConsoleOptions> = {},
  quitWaitMs = 2000,
) {
  const t = fakeClient({ random: () => 1 });
  const input = new InputQueue();
  const out: string[] = [];
  const err: string[] = [];
  const done = runSession({
    client: t.client,
    options: { ...options, ...extra },
    input,
    print: (line) => out.push(line),
    printError: (line) => err.push(line),
    interactive,
    style: { color: false, utc: true },
    timers: t.clock,
    now: t.clock.now,
    closeWaitMs: 10,
    quitWaitMs,
  });
  return { ...t, input, out, err, done };
}

/** A session started by {@linkcode fakeSession}. */
export type FakeSession = ReturnType<typeof fakeSession>;

/**
 * Lets the session finish: runs callbacks, passes the close wait, and returns the exit code.
 *
 * @example
 * ```ts
 * assert.equal(await finish(s), 0);
 * ```
 */
export async function finish(s: FakeSession): Promise<number> {
  await settle();
  s.clock.advance(10); // close wait
  return await s.done;
}
