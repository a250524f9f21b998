/**
 * Plain HTTP over raw TCP from any loopback source address, for attacks that `fetch` cannot
 * make: one request with any head (a 65 000-space header), a connection that sends part of a
 * head and then nothing (half-open), and one that drips its head a byte at a time. Each tells
 * what the server answered (status line, if any) and when it closed the connection.
 *
 * @module
 */

import { connectTcp, type TcpConn } from "./tcp_from.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * What a raw connection got: the reply's status (0 without one), its text, and when the server
 * ended the connection (ms after the first byte was sent; null if it was still open).
 *
 * @example
 * ```ts
 * const outcome: RawHttpOutcome = { status: 431, text: "HTTP/1.1 431 ...", endedAfterMs: 3 };
 * ```
 */
export interface RawHttpOutcome {
  status: number;
  text: string;
  endedAfterMs: number | null;
}

/** Reads until the server ends the connection, or `deadline` (ms, `performance.now`). */
async function readToEnd(conn: TcpConn, deadline: number, limit = 1 << 20): Promise<string> {
  const chunk = new Uint8Array(64 * 1024);
  let text = "";
  while (text.length < limit) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error("still open");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const n = await Promise.race([
      conn.read(chunk).catch(() => null),
      new Promise<"late">((r) => timer = setTimeout(() => r("late"), left)),
    ]);
    clearTimeout(timer);
    if (n === "late") throw new Error("still open");
    if (n === null) return text;
    text += dec.decode(chunk.subarray(0, n));
  }
  return text;
}

function outcome(text: string, started: number, ended: boolean): RawHttpOutcome {
  const status = Number(text.match(/^HTTP\/1\.[01] (\d{3})/)?.[1] ?? 0);
  return { status, text, endedAfterMs: ended ? performance.now() - started : null };
}

/**
 * Sends `head` (a whole request, `\r\n\r\n` included) on a new connection with
 * `Connection: close` semantics left to the caller, and reads the reply until the server closes
 * or `timeoutMs` passes.
 *
 * @example
 * ```ts
 * const r = await rawRequest(port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
 * r.status; // 200
 * ```
 */
export async function rawRequest(
  port: number,
  head: string,
  options: { from?: string; timeoutMs?: number } = {},
): Promise<RawHttpOutcome> {
  const conn = await connectTcp(port, { from: options.from });
  const started = performance.now();
  try {
    await conn.write(enc.encode(head)).catch(() => {});
    const deadline = started + (options.timeoutMs ?? 10_000);
    try {
      return outcome(await readToEnd(conn, deadline), started, true);
    } catch {
      return outcome("", started, false);
    }
  } finally {
    conn.close();
  }
}

/**
 * A connection that sent part of a request head and waits; {@linkcode SlowRequest.ended}
 * settles once the server has closed it (or `waitMs` passed: `endedAfterMs` null).
 *
 * @example
 * ```ts
 * const slow = await halfOpen(port, { from: "127.0.0.2" });
 * const { endedAfterMs } = await slow.ended(15_000); // about REQUEST_TIMEOUT_MS
 * ```
 */
export interface SlowRequest {
  /** Bytes of the head written so far. */
  readonly sent: () => number;
  ended(waitMs: number): Promise<RawHttpOutcome>;
  close(): void;
}

/** Default partial head: a request line and one header, never finished. */
export const PARTIAL_HEAD = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";

/**
 * Opens a connection and writes `head` (default {@linkcode PARTIAL_HEAD}) but never the blank
 * line that ends it. Rejects when the connection cannot be made.
 *
 * @example
 * ```ts
 * const slow = await halfOpen(port, { from: "127.0.0.2" });
 * slow.close();
 * ```
 */
export async function halfOpen(
  port: number,
  options: { from?: string; head?: string } = {},
): Promise<SlowRequest> {
  const conn = await connectTcp(port, { from: options.from, timeoutMs: 20_000 });
  const bytes = enc.encode(options.head ?? PARTIAL_HEAD);
  const started = performance.now();
  await conn.write(bytes).catch(() => {});
  return slowRequest(conn, started, () => bytes.length);
}

/**
 * Opens a connection and writes `head` one byte every `everyMs` (default {@linkcode PARTIAL_HEAD}
 * repeated as header lines, so it never ends) until the server closes the connection.
 *
 * @example
 * ```ts
 * const drip = await dripRequest(port, { from: "127.0.0.3", everyMs: 200 });
 * (await drip.ended(15_000)).endedAfterMs; // about REQUEST_TIMEOUT_MS
 * ```
 */
export async function dripRequest(
  port: number,
  options: { from?: string; everyMs?: number } = {},
): Promise<SlowRequest> {
  const conn = await connectTcp(port, { from: options.from, timeoutMs: 20_000 });
  const started = performance.now();
  let sent = 0;
  let open = true;
  const line = enc.encode("X-Drip: aaaaaaaaaaaaaaaaaaaa\r\n");
  const first = enc.encode(PARTIAL_HEAD);
  (async () => {
    while (open) {
      const byte = sent < first.length ? first[sent] : line[(sent - first.length) % line.length];
      try {
        await conn.write(new Uint8Array([byte]));
      } catch {
        return;
      }
      sent++;
      await new Promise((r) => setTimeout(r, options.everyMs ?? 200));
    }
  })();
  const slow = slowRequest(conn, started, () => sent);
  return {
    ...slow,
    ended: (waitMs) => slow.ended(waitMs).finally(() => open = false),
    close: () => {
      open = false;
      slow.close();
    },
  };
}

function slowRequest(conn: TcpConn, started: number, sent: () => number): SlowRequest {
  let result: Promise<RawHttpOutcome> | null = null;
  return {
    sent,
    ended(waitMs) {
      result ??= readToEnd(conn, started + waitMs).then(
        (text) => outcome(text, started, true),
        () => outcome("", started, false),
      );
      return result;
    },
    close: () => conn.close(),
  };
}
