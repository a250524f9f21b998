/**
 * Attacker tools of the hostile scenarios: a raw WebSocket from a chosen source address whose
 * handshake outcome is tallied (status and, for a refusal, the reason's metric-like label), a
 * reader that drains a socket in the background and tallies what arrives (acks, error codes,
 * the close code), and small timing helpers.
 *
 * @module
 */

import { type RawHandshake, RawWs } from "../helpers/raw_ws.ts";
import type { Tally } from "./hostile_probe.ts";

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Waits until `done()` holds, checking every 10 ms, at most `timeoutMs`; whether it held.
 *
 * @example
 * ```ts
 * await waitFor(() => got.get("ack") === 3, 5000); // false after 5 s without three acks
 * ```
 */
export async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

/**
 * A short label for a refused handshake's body: the start of its reason, e.g.
 * `429 too many handshakes` or `503 server holds its maximum`.
 *
 * @example
 * ```ts
 * refusalLabel({ status: 429, body: "too many connections from your address (at most 64)\n" });
 * // "429 too many connections"
 * ```
 */
export function refusalLabel(hs: Pick<RawHandshake, "status" | "body">): string {
  if (hs.status === 101) return "101";
  const words = hs.body.trim().split(/\s+/).slice(0, 3).join(" ").replace(/[:;,(]+$/, "");
  return `${hs.status} ${words}`.trim();
}

/**
 * Opens a WebSocket from `from` to `query` (JSON mode unless `json` is false) and counts the
 * handshake's outcome in `tally`; a connection error counts as `connect failed`. Returns the
 * handshake (null when the connection failed).
 *
 * @example
 * ```ts
 * const hs = await attackWs(port, { room: "x" }, got, { from: "127.0.0.2" });
 * if (hs?.ws) hs.ws.abort();
 * ```
 */
export async function attackWs(
  port: number,
  query: Record<string, string>,
  tally: Tally,
  options: { from?: string; json?: boolean; headers?: Record<string, string>; host?: string } = {},
): Promise<RawHandshake | null> {
  try {
    const hs = await RawWs.connect(port, `/ws?${new URLSearchParams(query)}`, {
      from: options.from,
      protocols: options.json === false ? [] : ["fanout.v1"],
      headers: options.headers,
      host: options.host,
    });
    tally.add(refusalLabel(hs));
    return hs;
  } catch {
    tally.add("connect failed");
    return null;
  }
}

/**
 * Reads `ws` until it ends, counting JSON frames by type (`ack`, `error <code>`, `welcome`,
 * ...), plain text frames as `text`, and the end as `close <code>` or `eof`. Resolves with the
 * end's label.
 *
 * @example
 * ```ts
 * const ended = drain(hs.ws!, got, true);
 * hs.ws!.abort();
 * await ended; // "eof"
 * ```
 */
export async function drain(
  ws: RawWs,
  tally: Tally,
  json: boolean,
  onFrame?: (frame: Record<string, unknown>) => void,
): Promise<string> {
  while (true) {
    let msg;
    try {
      msg = await ws.read(3_600_000);
    } catch {
      tally.add("eof");
      return "eof";
    }
    if (msg.kind === "eof") {
      tally.add("eof");
      return "eof";
    }
    if (msg.kind === "close") {
      const label = `close ${msg.code}`;
      tally.add(label);
      return label;
    }
    if (msg.kind !== "text") continue;
    if (!json) {
      tally.add(
        msg.text.startsWith("error:")
          ? `error: ${msg.text.slice(7).split(/\s+/).slice(0, 3).join(" ")}`
          : "text",
      );
      continue;
    }
    for (const line of msg.text.split("\n")) {
      const frame = JSON.parse(line);
      tally.add(frame.type === "error" ? `error ${frame.code}` : frame.type);
      onFrame?.(frame);
    }
  }
}

/**
 * Runs `step` again and again for `seconds`, at most `parallel` at a time.
 *
 * @example
 * ```ts
 * await loopFor(2, 4, async () => { await attackWs(port, { room: "r" }, got); });
 * ```
 */
export async function loopFor(
  seconds: number,
  parallel: number,
  step: (i: number) => Promise<void>,
): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (performance.now() < end) await step(n++);
  }));
  return n;
}
