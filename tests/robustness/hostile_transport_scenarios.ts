/**
 * Hostile scenarios against the HTTP layer: huge `If-None-Match` headers on an asset URL
 * (row 4), and TCP connections that never finish their request head, or drip it, until the
 * server is out of file descriptors (row 5).
 *
 * @module
 */

import { dripRequest, halfOpen, rawRequest, type SlowRequest } from "../helpers/raw_http.ts";
import { loopFor, sleep } from "./hostile_attackers.ts";
import { readMetrics, Tally } from "./hostile_probe.ts";
import type { HostileSpec } from "./hostile_run.ts";

/** Size of {@linkcode etagFlood}. */
export interface EtagFloodSize {
  memoryLimitMb: number;
  seconds: number;
  /** Requests in flight at once. */
  parallel: number;
}

/**
 * Row 4: requests for an asset whose `If-None-Match` holds 65 000 spaces (431: the head is
 * over MAX_HEADER_BYTES), or 8 000 / 15 000 spaces under the cap (answered in linear time: 200).
 *
 * @example
 * ```ts
 * const report = await runHostile(etagFlood({ memoryLimitMb: 128, seconds: 3, parallel: 2 }));
 * ```
 */
export function etagFlood(size: EtagFloodSize): HostileSpec {
  return {
    row: "4",
    attack: `If-None-Match of 8 000-65 000 spaces on an asset, ${size.seconds} s`,
    memoryLimitMb: size.memoryLimitMb,
    run: async ({ server, port, config, address }) => {
      const page = await (await fetch(server.httpUrl("/"))).text();
      const asset = page.match(/\/assets\/app\.[A-Za-z0-9_-]+\.css/)?.[0];
      if (!asset) throw new Error(`no stylesheet URL in the page: ${page.slice(0, 200)}`);
      const spaces = [65_000, 15_000, 8_000];
      const byLength = new Map(spaces.map((n) => [n, new Tally()]));
      const slowest = new Map(spaces.map((n) => [n, 0]));
      const got = new Tally();
      await loopFor(size.seconds, size.parallel, async (i) => {
        const n = spaces[i % spaces.length];
        const head = `GET ${asset} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `If-None-Match: ${" ".repeat(n)}"x"\r\nConnection: close\r\n\r\n`;
        const r = await rawRequest(port, head, { from: address(0), timeoutMs: 10_000 });
        byLength.get(n)!.add(String(r.status));
        got.add(`${r.status}`);
        slowest.set(n, Math.max(slowest.get(n)!, r.endedAfterMs ?? Infinity));
      });
      const round = (ms: number) => Math.round(ms);
      return {
        got,
        details: Object.fromEntries(
          spaces.flatMap((n) => [
            [`spaces${n}`, byLength.get(n)!.toString()],
            [`slowest${n}Ms`, round(slowest.get(n)!)],
          ]),
        ),
        checks: [
          {
            what:
              `65 000 spaces: every request 431 (head over MAX_HEADER_BYTES ${config.maxHeaderBytes})`,
            ok: byLength.get(65_000)!.get("431") === byLength.get(65_000)!.total &&
              byLength.get(65_000)!.total > 0,
            got: byLength.get(65_000)!.toString(),
          },
          {
            what: "8 000 and 15 000 spaces: every request 200",
            ok: [8_000, 15_000].every((n) =>
              byLength.get(n)!.total > 0 && byLength.get(n)!.get("200") === byLength.get(n)!.total
            ),
            got: `${byLength.get(8_000)} / ${byLength.get(15_000)}`,
          },
          // The time of each request is in the report (slowest*Ms), not asserted: that parsing
          // is linear is asserted by counting in tests/shared/header_lists_test.ts.
        ],
      };
    },
  };
}

/** Size of {@linkcode halfOpenFlood}. */
export interface HalfOpenFloodSize {
  memoryLimitMb: number;
  /** Open-file limit of the server process (none: the half-open flood only checks timeouts). */
  maxOpenFiles?: number;
  requestTimeoutMs: number;
  /** Connections that never finish their head, spread over addresses. */
  halfOpen: number;
  /** Connections that drip their head a byte every 200 ms. */
  drips: number;
  perAddress: number;
}

/**
 * Ends of many slow requests: how many ended, and the slowest end. `ended` starts watching when
 * first called, so call {@linkcode watch} on each group as soon as it is open.
 */
async function ends(list: SlowRequest[], waitMs: number, tally: Tally, label: string) {
  const outcomes = await Promise.all(list.map((s) => s.ended(waitMs)));
  let slowest = 0;
  for (const o of outcomes) {
    tally.add(`${label} ${o.endedAfterMs === null ? "still open" : o.status || "closed"}`);
    slowest = Math.max(slowest, o.endedAfterMs ?? Infinity);
  }
  for (const s of list) s.close();
  return Math.round(slowest);
}

/** Starts watching every request of `list` for its end (within `waitMs` of its opening). */
function watch(list: SlowRequest[], waitMs: number): SlowRequest[] {
  for (const s of list) s.ended(waitMs);
  return list;
}

/**
 * Row 5: one address opens more half-open connections than it may hold (429 past
 * MAX_CONNECTIONS_PER_IP + 32); drips and half-open connections are closed after
 * REQUEST_TIMEOUT_MS; then enough half-open connections from many addresses to exhaust the
 * server's file descriptors: it keeps running and serves again once they time out.
 *
 * @example
 * ```ts
 * const report = await runHostile(halfOpenFlood({ memoryLimitMb: 128, maxOpenFiles: 256, requestTimeoutMs: 2000,
 *   halfOpen: 600, drips: 40, perAddress: 60 }));
 * ```
 */
export function halfOpenFlood(size: HalfOpenFloodSize): HostileSpec {
  return {
    row: "5",
    attack: `${size.halfOpen} half-open + ${size.drips} dripping connections, ` +
      (size.maxOpenFiles ? `ulimit -n ${size.maxOpenFiles}` : "no descriptor limit"),
    memoryLimitMb: size.memoryLimitMb,
    maxOpenFiles: size.maxOpenFiles,
    env: { REQUEST_TIMEOUT_MS: String(size.requestTimeoutMs), LOG_FORMAT: "json" },
    run: async ({ port, server, config, address }) => {
      const got = new Tally();
      const timeout = size.requestTimeoutMs;
      // One address past its cap: the extra connections are refused at once.
      const cap = config.maxConnectionsPerIp + 32;
      const one = watch(
        await Promise.all(
          Array.from({ length: cap + 8 }, () => halfOpen(port, { from: address(0) })),
        ),
        timeout + 5000,
      );
      const drips = watch(
        await Promise.all(
          Array.from(
            { length: size.drips },
            (_, i) => dripRequest(port, { from: address(1 + Math.floor(i / size.perAddress)) }),
          ),
        ),
        timeout + 5000,
      );
      const first = 1 + Math.ceil(size.drips / size.perAddress);
      const files = size.maxOpenFiles ?? Infinity;
      const rounds = Math.ceil(size.halfOpen / Math.max(1, files - 64)) + 1;
      const flood = await Promise.all(
        Array.from(
          { length: size.halfOpen },
          (_, i) =>
            halfOpen(port, { from: address(first + Math.floor(i / size.perAddress)) })
              .then((s) => watch([s], rounds * timeout + 10_000)[0], () => null),
        ),
      );
      const opened = flood.filter((s): s is SlowRequest => s !== null);
      got.add("flood connect failed", flood.length - opened.length);
      const oneSlowest = await ends(one, timeout + 5000, got, "one-address");
      const dripSlowest = await ends(drips, timeout + 5000, got, "drip");
      const floodSlowest = await ends(opened, rounds * timeout + 10_000, got, "flood");
      await sleep(500);
      const m = await readMetrics(server.httpUrl("/metrics"));
      const acceptFailed = (server.output().match(/server\.accept_failed/g) ?? []).length;
      return {
        got,
        details: { oneSlowest, dripSlowest, floodSlowest, acceptFailed, rounds },
        checks: [
          {
            what: `one address past ${cap} connections: the rest refused 429 at once`,
            ok: got.get("one-address 429") === 8 && got.get("one-address closed") === cap,
            got: [...got.counts].filter(([k]) => k.startsWith("one")).join(" "),
          },
          {
            what:
              `half-open and dripping connections closed after REQUEST_TIMEOUT_MS (${timeout}) + 1 s`,
            ok: oneSlowest <= timeout + 1000 && dripSlowest <= timeout + 1000 &&
              got.get("drip closed") === size.drips,
            got: `slowest ${oneSlowest} ms (one address), ${dripSlowest} ms (drips)`,
          },
          {
            what: `out of descriptors: every flood connection closed within ${rounds} timeouts`,
            ok: got.get("flood closed") === opened.length &&
              floodSlowest <= rounds * timeout + 5000,
            got: `${
              got.get("flood closed")
            } of ${opened.length} closed, slowest ${floodSlowest} ms`,
          },
          ...(size.maxOpenFiles === undefined ? [] : [{
            what: "the server ran out of descriptors (server.accept_failed logged) and kept going",
            ok: acceptFailed > 0 && m.fanout_tcp_connections !== undefined,
            got: `${acceptFailed} accept_failed lines, ${m.fanout_tcp_connections} TCP open after`,
          }]),
        ],
      };
    },
  };
}
