/**
 * Hostile scenarios against the per-address limits and the logs: one address that opens as many
 * WebSockets as it can and answers pings (row 7), and refused handshakes in a loop (row 13).
 *
 * @module
 */

import type { RawWs } from "../helpers/raw_ws.ts";
import { attackWs, drain, loopFor, sleep } from "./hostile_attackers.ts";
import { Tally } from "./hostile_probe.ts";
import type { HostileSpec } from "./hostile_run.ts";

/** Size of {@linkcode connectionHog}. */
export interface ConnectionHogSize {
  memoryLimitMb: number;
  /** MAX_CONNECTIONS of the server. */
  maxConnections: number;
  /** WebSockets the attacker wants; it retries refusals until `seconds` are over. */
  attempts: number;
  seconds: number;
  /** Handshakes in flight at once. */
  parallel: number;
}

/**
 * Row 7: one address opens up to `attempts` WebSockets and keeps them (answering pings).
 * Expected: it holds exactly MAX_CONNECTIONS_PER_IP, the rest get 429 with retry-after, and
 * newcomers from other addresses still get 101.
 *
 * @example
 * ```ts
 * const report = await runHostile(connectionHog({ memoryLimitMb: 128, maxConnections: 72, attempts: 100, seconds: 6,
 *   parallel: 4 }));
 * ```
 */
export function connectionHog(size: ConnectionHogSize): HostileSpec {
  return {
    row: "7",
    attack: `one address opens up to ${size.attempts} WebSockets (MAX_CONNECTIONS ` +
      `${size.maxConnections}), ${size.seconds} s`,
    memoryLimitMb: size.memoryLimitMb,
    env: { MAX_CONNECTIONS: String(size.maxConnections) },
    run: async ({ port, config, address }) => {
      const got = new Tally();
      const held: RawWs[] = [];
      const ends: Promise<string>[] = [];
      const answers = new Tally();
      let retryAfter = "";
      await loopFor(size.seconds, size.parallel, async (n) => {
        if (held.length >= size.attempts) return await sleep(50);
        const hs = await attackWs(port, { room: `hog-${n % 8}` }, got, {
          from: address(0),
        });
        if (hs?.ws) {
          held.push(hs.ws);
          ends.push(drain(hs.ws, answers, true)); // answers pings while it reads
        } else {
          retryAfter ||= hs?.headers.get("retry-after") ?? "";
          await sleep(100);
        }
      });
      // Newcomers from other addresses, while the attacker holds its sockets.
      const newcomers = new Tally();
      for (let i = 0; i < 3; i++) {
        const hs = await attackWs(port, { room: `new-${i}` }, newcomers, {
          from: address(1 + i),
        });
        hs?.ws?.abort();
      }
      const stillOpen = held.length - answers.get("eof") - answers.get("close 1001");
      for (const ws of held) ws.abort();
      await Promise.all(ends);
      got.merge(newcomers);
      const limit = config.maxConnectionsPerIp;
      return {
        got,
        details: { held: held.length, stillOpen, newcomers: newcomers.toString(), retryAfter },
        checks: [
          {
            what: `the address holds exactly MAX_CONNECTIONS_PER_IP (${limit}) WebSockets`,
            ok: held.length === limit && stillOpen === limit,
            got: `${held.length} opened, ${stillOpen} still open`,
          },
          {
            what: "its further handshakes get 429 with retry-after",
            ok: got.get("429 too many connections") > 0 && Number(retryAfter) >= 1,
            got: `${got.get("429 too many connections")} × 429 too many connections, ` +
              `retry-after ${retryAfter}`,
          },
          {
            what: "newcomers from other addresses get 101",
            ok: newcomers.get("101") === 3,
            got: newcomers.toString(),
          },
        ],
      };
    },
  };
}

/** Size of {@linkcode refusalLoop}. */
export interface RefusalLoopSize {
  memoryLimitMb: number;
  seconds: number;
  /** Source addresses looping at once. */
  addresses: number;
}

/** Lines of `output` (JSON log lines) whose event is `event`. */
function events(output: string, event: string): Record<string, unknown>[] {
  return output.split("\n").filter((l) => l.includes(`"event":"${event}"`)).map((l) =>
    JSON.parse(l)
  );
}

/**
 * Row 13: refused handshakes (a foreign `Origin`) in a loop from `addresses` addresses.
 * Expected: each is refused (403, then 429 past the handshake rate), and the log holds at most
 * LOG_LINES_PER_EVENT `ws.refused` lines per 10 s plus one `ws.refused.suppressed` summary that
 * counts the rest.
 *
 * @example
 * ```ts
 * const report = await runHostile(refusalLoop({ memoryLimitMb: 128, seconds: 3, addresses: 4 }));
 * ```
 */
export function refusalLoop(size: RefusalLoopSize): HostileSpec {
  return {
    row: "13",
    attack: `refused handshakes in a loop from ${size.addresses} addresses, ${size.seconds} s`,
    memoryLimitMb: size.memoryLimitMb,
    env: { LOG_LEVEL: "info", LOG_FORMAT: "json" },
    run: async ({ port, address }) => {
      const got = new Tally();
      const started = performance.now();
      await loopFor(size.seconds, size.addresses, async (i) => {
        await attackWs(port, { room: "x" }, got, {
          from: address(i % size.addresses),
          headers: { Origin: "http://evil.test" },
        });
      });
      const seconds = (performance.now() - started) / 1000;
      return {
        got,
        details: { refusals: got.total, perSecond: Math.round(got.total / seconds) },
        checks: [
          {
            what: "every handshake refused: 403 (origin) or 429 (handshake rate)",
            ok: got.prefixed("403 origin") + got.get("429 too many handshakes") === got.total &&
              got.prefixed("403 origin") > 0,
            got: got.toString(),
          },
        ],
      };
    },
    afterStop: (output, metrics, config) => {
      const linesPerEvent = config.logLinesPerEvent;
      const lines = events(output, "ws.refused");
      const summaries = events(output, "ws.refused.suppressed");
      const suppressed = summaries.reduce((n, s) => n + Number(s.count), 0);
      // Every refused handshake (routes/ws.ts) is one ws.refused event and one handshake_* count.
      const refused = Object.entries(metrics)
        .filter(([k]) => k.startsWith('fanout_rejected_total{reason="handshake_'))
        .reduce((n, [, v]) => n + v, 0);
      const windows = Math.max(1, Math.ceil(size.seconds / 10) + 1);
      return [
        {
          what: `at most LOG_LINES_PER_EVENT (${linesPerEvent}) ws.refused lines per 10 s window`,
          ok: lines.length > 0 && lines.length <= linesPerEvent * windows,
          got: `${lines.length} lines`,
        },
        {
          what: "the rest summed up in ws.refused.suppressed lines",
          ok: summaries.length >= 1 && summaries.length <= windows &&
            lines.length + suppressed === refused,
          got:
            `${summaries.length} summaries counting ${suppressed}; ${refused} refusals in /metrics`,
        },
      ];
    },
  };
}
