/**
 * Hostile scenarios against the rooms: handshakes into ever new room names (row 3), and
 * resume handshakes into a full room by clients that never read (row 6).
 *
 * @module
 */

import type { RawWs } from "../helpers/raw_ws.ts";
import { attackWs, drain, loopFor, sleep, waitFor } from "./hostile_attackers.ts";
import { mib, readMetrics, Tally } from "./hostile_probe.ts";
import type { HostileSpec } from "./hostile_run.ts";

/** Size of {@linkcode freshRooms}. */
export interface FreshRoomsSize {
  memoryLimitMb: number;
  /** MAX_ROOMS of the server. */
  maxRooms: number;
  /** Seconds one address spends handshaking into new rooms and leaving. */
  churnSeconds: number;
  /** Addresses that then open (and hold) new rooms until MAX_ROOMS answers. */
  holders: number;
  /** Rooms each holder opens. */
  perHolder: number;
}

/**
 * Row 3: one address handshakes into fresh room names and leaves (refused 429 "too many new
 * rooms" past NEW_ROOMS_PER_MINUTE_PER_IP), then many addresses hold fresh rooms until the
 * server holds MAX_ROOMS (503). The engine never holds more than MAX_ROOMS, and `/api/stats`
 * stays small and fast; with `ENGINE=kv`, the rooms on disk never pass KV_MAX_ROOMS.
 *
 * @example
 * ```ts
 * const report = await runHostile(freshRooms({ memoryLimitMb: 128, maxRooms: 300, churnSeconds: 3, holders: 14, perHolder: 25 }));
 * ```
 */
export function freshRooms(size: FreshRoomsSize): HostileSpec {
  return {
    row: "3",
    attack: `fresh rooms: churn ${size.churnSeconds} s, then ${size.holders} addresses × ` +
      `${size.perHolder} held, MAX_ROOMS ${size.maxRooms}`,
    memoryLimitMb: size.memoryLimitMb,
    env: { MAX_ROOMS: String(size.maxRooms) },
    run: async ({ port, metricsUrl, server, config, address }) => {
      const got = new Tally();
      let peakRooms = 0;
      let peakDiskRooms = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const m = await readMetrics(metricsUrl).catch(() => ({} as Record<string, number>));
          peakRooms = Math.max(peakRooms, m.fanout_engine_rooms ?? 0);
          peakDiskRooms = Math.max(peakDiskRooms, m.fanout_kv_disk_rooms ?? 0);
          await sleep(200);
        }
      })();
      const churn = new Tally();
      let retryAfter = "";
      await loopFor(size.churnSeconds, 1, async (n) => {
        const hs = await attackWs(port, { room: `churn-${n}` }, churn, { from: address(0) });
        if (hs?.ws) {
          await hs.ws.until((f) => f.type === "welcome");
          hs.ws.abort();
        } else retryAfter ||= hs?.headers.get("retry-after") ?? "";
      });
      got.merge(churn);
      const held: RawWs[] = [];
      let roomsBody = "";
      await Promise.all(Array.from({ length: size.holders }, async (_, h) => {
        for (let i = 0; i < size.perHolder; i++) {
          const hs = await attackWs(port, { room: `held-${h}-${i}` }, got, {
            from: address(1 + h),
          });
          if (hs?.ws) held.push(hs.ws);
          else if (hs?.status === 503) roomsBody = hs.body.trim();
        }
      }));
      const stats = performance.now();
      const statsBytes = (await (await fetch(server.httpUrl("/api/stats"))).arrayBuffer())
        .byteLength;
      const statsMs = Math.round(performance.now() - stats);
      for (const ws of held) ws.abort();
      await sleep(300);
      sampling = false;
      await sampler;
      const max = config.newRoomsPerMinutePerIp +
        (size.churnSeconds * config.newRoomsPerMinutePerIp) / 60;
      return {
        got,
        details: {
          churned: churn.get("101"),
          held: held.length,
          peakEngineRooms: peakRooms,
          statsBytes,
          statsMs,
          retryAfter,
          ...(config.engine === "kv" ? { peakDiskRooms } : {}),
        },
        checks: [
          {
            what: `one address opens at most NEW_ROOMS_PER_MINUTE_PER_IP rooms (${
              Math.floor(max)
            } in ${size.churnSeconds} s), then 429 with retry-after`,
            ok: churn.get("101") <= max + 1 && churn.get("429 too many new") > 0 &&
              Number(retryAfter) >= 1,
            got: `${churn.toString()}; retry-after ${retryAfter}`,
          },
          {
            what: `past MAX_ROOMS (${size.maxRooms}) a new room gets 503 "rooms"`,
            ok: got.get("503 server holds its") > 0 && /maximum of \d+ rooms/.test(roomsBody),
            got: `${got.get("503 server holds its")} × 503: ${roomsBody}`,
          },
          {
            what: `the engine holds at most MAX_ROOMS (${size.maxRooms})`,
            ok: peakRooms > 0 && peakRooms <= size.maxRooms,
            got: `peak ${peakRooms}`,
          },
          ...(config.engine === "kv"
            ? [{
              // Sampled every 200 ms: a room made while others are removed may pass it for a turn.
              what: `KV: rooms on disk at most KV_MAX_ROOMS (${config.kvMaxRooms}) + 1`,
              ok: peakDiskRooms > 0 && peakDiskRooms <= config.kvMaxRooms + 1,
              got: `peak ${peakDiskRooms}`,
            }]
            : []),
          {
            what: "/api/stats under 64 KiB (its time is reported, not asserted)",
            ok: statsBytes < 64 * 1024,
            got: `${statsBytes} bytes in ${statsMs} ms`,
          },
        ],
      };
    },
  };
}

/** Size of {@linkcode resumeFlood}. */
export interface ResumeFloodSize {
  memoryLimitMb: number;
  /** ROOM_HISTORY_MB of the server (large, so that the welcome cap is what bounds). */
  roomHistoryMb: number;
  /** Messages put in the room first. */
  fill: number;
  textBytes: number;
  /** Resumers that never read, all at once. */
  resumers: number;
  /** Longest the attack runs. */
  seconds: number;
}

/** Fills `room` with `count` texts, one connection (and address) per burst; the last ack. */
async function fillRoom(
  port: number,
  room: string,
  count: number,
  text: string,
  burst: number,
  address: (i: number) => string,
): Promise<{ epoch: string; offset: number; addresses: number }> {
  let epoch = "";
  let offset = 0;
  let sent = 0;
  let a = 0;
  while (sent < count) {
    const got = new Tally();
    const hs = await attackWs(port, { room }, got, { from: address(a++) });
    if (!hs?.ws) throw new Error(`filler refused: ${got}`);
    const n = Math.min(burst, count - sent);
    const done = drain(hs.ws, got, true, (f) => {
      if (f.type === "welcome") epoch = String(f.epoch);
      if (f.type === "ack") offset = Math.max(offset, Number(f.offset));
    });
    for (let i = 0; i < n; i++) {
      await hs.ws.sendText(JSON.stringify({ type: "message", text, ref: `fill-${sent + i}` }));
    }
    const answered = () => got.get("ack") + got.get("error rate_limited") >= n;
    if (!(await waitFor(answered, 10_000))) throw new Error(`filler not answered: ${got}`);
    sent += got.get("ack");
    hs.ws.abort();
    await done;
  }
  return { epoch, offset, addresses: a };
}

/**
 * Row 6: a room is filled with `fill` large texts; then `resumers` resume handshakes
 * (`since = offset - 1000`) that never read, while a sender keeps the room busy. Expected: a
 * reading resumer's welcome fits in 2 × MAX_BUFFERED_BYTES (recovered false); every
 * non-reader is closed 4008 and its TCP connection dropped within CLOSE_TIMEOUT_MS (+1 s).
 *
 * @example
 * ```ts
 * const report = await runHostile(resumeFlood({ memoryLimitMb: 128, roomHistoryMb: 8, fill: 100, textBytes: 65000,
 *   resumers: 10, seconds: 15 }));
 * ```
 */
export function resumeFlood(size: ResumeFloodSize): HostileSpec {
  return {
    row: "6",
    attack: `${size.resumers} non-reading resumers into a ${size.fill} × ` +
      `${Math.round(size.textBytes / 1024)} KiB room`,
    memoryLimitMb: size.memoryLimitMb,
    env: { ROOM_HISTORY_MB: String(size.roomHistoryMb) },
    run: async ({ port, metricsUrl, config, address }) => {
      const got = new Tally();
      const text = "r".repeat(size.textBytes);
      const room = "full";
      const filled = await fillRoom(port, room, size.fill, text, config.rateBurst, address);
      let next = filled.addresses;
      const since = String(Math.max(0, filled.offset - 1000));
      const query = { room, since, epoch: filled.epoch };
      // A resumer that reads: how large is the welcome?
      const probe = await attackWs(port, query, new Tally(), { from: address(next++) });
      const welcome = await probe!.ws!.until((f) => f.type === "welcome", 10_000);
      const welcomeBytes = JSON.stringify(welcome).length;
      probe!.ws!.abort();
      // A sender keeps the room busy while the non-readers connect.
      const keeper = await attackWs(port, { room }, new Tally(), { from: address(next++) });
      const keeperDone = drain(keeper!.ws!, new Tally(), true);
      await sleep(300);
      const baseline = await readMetrics(metricsUrl);
      const from = address(next++);
      const resumers = (await Promise.all(
        Array.from({ length: size.resumers }, () => attackWs(port, query, got, { from })),
      )).map((hs) => hs?.ws).filter((ws): ws is RawWs => ws !== undefined && ws !== null);
      let lastSlowAt = 0;
      let droppedAt = 0;
      let slow = 0;
      let peakQueue = 0;
      // TCP connections with the non-readers: they are dropped once this many fewer are left.
      const withThem = (await readMetrics(metricsUrl)).fanout_tcp_connections ?? 0;
      const started = performance.now();
      let k = 0;
      while (performance.now() - started < size.seconds * 1000 && droppedAt === 0) {
        await keeper!.ws!.sendText(JSON.stringify({ type: "message", text, ref: `k${k++}` }));
        const m = await readMetrics(metricsUrl);
        peakQueue = Math.max(peakQueue, m.fanout_send_queue_bytes ?? 0);
        const s = (m.fanout_slow_consumers_total ?? 0) -
          (baseline.fanout_slow_consumers_total ?? 0);
        if (s > slow) [slow, lastSlowAt] = [s, performance.now()];
        if (slow >= resumers.length && m.fanout_tcp_connections <= withThem - resumers.length) {
          droppedAt = performance.now();
        }
        await sleep(1000 / config.rateLimit);
      }
      keeper!.ws!.abort();
      await keeperDone;
      // What the non-readers find once they do read: the server's last word, or just the end
      // (those the server did not close are dropped after 3 s of reading).
      const drained = resumers.map((ws) => drain(ws, got, true));
      await Promise.race([Promise.all(drained), sleep(3000)]);
      for (const ws of resumers) ws.abort();
      await Promise.all(drained);
      const dropMs = droppedAt ? Math.round(droppedAt - lastSlowAt) : -1;
      const cap = 2 * config.maxBufferedBytes;
      return {
        got,
        details: {
          filled: filled.offset,
          welcomeBytes,
          recovered: String(welcome.recovered),
          slowClosed: slow,
          dropAfterLastSlowMs: dropMs,
          peakSendQueueMiB: mib(peakQueue),
        },
        checks: [
          {
            what: `a resumer's welcome fits in 2 × MAX_BUFFERED_BYTES (${cap}), recovered false`,
            ok: welcomeBytes <= cap && welcome.recovered === false,
            got: `${welcomeBytes} bytes, recovered ${welcome.recovered}`,
          },
          {
            what: `every non-reader closed 4008 (slow consumer)`,
            ok: resumers.length === size.resumers && slow >= size.resumers,
            got: `${slow} of ${resumers.length} closed 4008`,
          },
          {
            what:
              `their TCP connections dropped within CLOSE_TIMEOUT_MS (${config.closeTimeoutMs}) + 1 s`,
            ok: droppedAt > 0 && dropMs <= config.closeTimeoutMs + 1000,
            got: droppedAt > 0 ? `${dropMs} ms after the last 4008` : "still connected",
          },
          {
            what: `send queues under SEND_QUEUE_MEMORY_MB (${mib(config.sendQueueBytes)} MiB)`,
            ok: peakQueue <= config.sendQueueBytes,
            got: `peak ${mib(peakQueue)} MiB`,
          },
        ],
      };
    },
  };
}
