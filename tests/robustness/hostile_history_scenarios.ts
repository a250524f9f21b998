/**
 * Hostile scenarios against the history budgets: many rooms filled with large texts within
 * the rate limit (row 1), a client that reconnects after every burst to reset its rate
 * limit (row 2), and a new ref with every message from many addresses (row 14).
 *
 * @module
 */

import { maskedFrame, Op } from "../helpers/masked_frames.ts";
import type { RawWs } from "../helpers/raw_ws.ts";
import { messageCost } from "../../lib/engine/memory/room_log.ts";
import { encodeBody } from "../../lib/engine/kv/kv_messages.ts";
import { KV_LIMITS } from "../../lib/engine/kv/kv_handle.ts";
import { attackWs, drain, loopFor, sleep, waitFor } from "./hostile_attackers.ts";
import { mib, readMetrics, rejected, Tally } from "./hostile_probe.ts";
import type { HostileSpec } from "./hostile_run.ts";

/** Size of {@linkcode historyFlood}. */
export interface HistoryFloodSize {
  memoryLimitMb: number;
  /** Connections, each in its own room. */
  senders: number;
  /** Senders per source address. */
  perAddress: number;
  textBytes: number;
  /** Messages per second per sender (within RATE_LIMIT and RATE_LIMIT_PER_IP). */
  perSecond: number;
  seconds: number;
}

/**
 * Row 1: `senders` connections, each in its own room, send `textBytes` texts within the rate
 * limits. Expected: every message accepted, the history total held under HISTORY_MEMORY_MB
 * (with `ENGINE=kv`: the bytes on disk under KV_HISTORY_MB).
 *
 * @example
 * ```ts
 * const report = await runHostile(historyFlood({ memoryLimitMb: 128, senders: 50, perAddress: 10,
 *   textBytes: 65000, perSecond: 2, seconds: 6 }));
 * ```
 */
export function historyFlood(size: HistoryFloodSize): HostileSpec {
  return {
    row: "1",
    attack: `${size.senders} rooms × ${Math.round(size.textBytes / 1024)} KiB texts, ` +
      `${size.perSecond}/s each, ${size.seconds} s`,
    memoryLimitMb: size.memoryLimitMb,
    run: async ({ port, metricsUrl, config, address }) => {
      const got = new Tally();
      // One frame per sender, encoded (and masked) once: no ref, so every copy is a new message.
      const frame = maskedFrame({
        opcode: Op.text,
        payload: JSON.stringify({ type: "message", text: "h".repeat(size.textBytes) }),
      });
      const sockets: RawWs[] = [];
      const drains: Promise<string>[] = [];
      for (let i = 0; i < size.senders; i++) {
        const from = address(Math.floor(i / size.perAddress));
        const hs = await attackWs(port, { room: `flood-${i}` }, got, { from });
        if (!hs?.ws) continue;
        sockets.push(hs.ws);
        drains.push(drain(hs.ws, got, true));
      }
      const kv = config.engine === "kv";
      // The memory engine's history in memory, or the KV engine's on disk.
      const gauge = kv ? "fanout_kv_disk_bytes" : "fanout_history_bytes";
      const budgetName = kv ? "KV_HISTORY_MB" : "HISTORY_MEMORY_MB";
      let peakHistory = 0;
      let sent = 0;
      const sampling = loopFor(size.seconds, 1, async () => {
        const m = await readMetrics(metricsUrl);
        peakHistory = Math.max(peakHistory, m[gauge] ?? 0);
        await sleep(250);
      });
      await loopFor(size.seconds, 1, async () => {
        const tick = performance.now();
        await Promise.all(sockets.map((ws) => ws.write(frame).then(() => sent++, () => {})));
        await sleep(Math.max(0, 1000 / size.perSecond - (performance.now() - tick)));
      });
      await sampling;
      await sleep(500);
      for (const ws of sockets) ws.abort();
      await Promise.all(drains);
      const budget = kv ? config.kvHistoryBytes : config.historyBytes;
      const text = "h".repeat(size.textBytes);
      const cost = kv
        ? encodeBody({ room: "r", from: "c", client: null, name: null, text, ref: null }, 0).bytes
        : messageCost({ text, name: null });
      // What the flood can make the history hold: the budget, unless the rooms' own caps or
      // what was sent are smaller.
      const fill = Math.min(budget, size.senders * config.roomHistoryBytes, sent * cost);
      return {
        got,
        details: { sent, peakHistoryMiB: mib(peakHistory), budgetMiB: mib(budget) },
        checks: [
          {
            what: `history total stays under ${budgetName} (${mib(budget)} MiB)`,
            ok: peakHistory > 0 && peakHistory <= budget,
            got: `peak ${mib(peakHistory)} MiB`,
          },
          {
            what: `the flood reached the history it could fill (80 % of ${mib(fill)} MiB)`,
            ok: peakHistory >= 0.8 * fill,
            got: `peak ${mib(peakHistory)} MiB`,
          },
          {
            what: "every message within the limits is acknowledged (no refusal)",
            ok: got.get("ack") === sent && got.get("101") === size.senders,
            got: got.toString(),
          },
        ],
      };
    },
  };
}

/** Size of {@linkcode reconnectBursts}. */
export interface ReconnectBurstsSize {
  memoryLimitMb: number;
  /** Frames sent right after each welcome (the per-connection burst). */
  burst: number;
  seconds: number;
}

/**
 * Row 2: one address reconnects after every burst of `burst` messages, so that a limit per
 * connection would start afresh each time. Expected: handshakes past HANDSHAKE_BURST_PER_IP get
 * 429 with `retry-after`, and the address never stores more than RATE_BURST_PER_IP +
 * RATE_LIMIT_PER_IP per second (the rest `rate_limited`).
 *
 * @example
 * ```ts
 * const report = await runHostile(reconnectBursts({ memoryLimitMb: 128, burst: 40, seconds: 5 }));
 * ```
 */
export function reconnectBursts(size: ReconnectBurstsSize): HostileSpec {
  return {
    row: "2",
    attack: `reconnect after every burst of ${size.burst}, ${size.seconds} s`,
    memoryLimitMb: size.memoryLimitMb,
    run: async ({ port, metricsUrl, config, address }) => {
      const got = new Tally();
      const from = address(0);
      let retryAfter = "";
      const started = performance.now();
      await loopFor(size.seconds, 1, async (n) => {
        const hs = await attackWs(port, { room: "bursts" }, got, { from });
        if (!hs?.ws) {
          retryAfter ||= hs?.headers.get("retry-after") ?? "";
          return await sleep(20);
        }
        const ws = hs.ws;
        const answers = new Tally();
        const done = drain(ws, answers, true);
        for (let i = 0; i < size.burst; i++) {
          await ws.sendText(JSON.stringify({ type: "message", text: `b${n}-${i}`, ref: `${i}` }));
        }
        // Every frame is answered (ack or error) before the next reconnect.
        while (answers.get("ack") + answers.get("error rate_limited") < size.burst) {
          if (performance.now() - started > size.seconds * 1000 + 5000) break;
          await sleep(5);
        }
        ws.abort();
        await done;
        got.merge(answers);
      });
      const elapsed = (performance.now() - started) / 1000;
      const m = await readMetrics(metricsUrl);
      const stored = got.get("ack");
      const allowed = config.rateBurstPerIp + config.rateLimitPerIp * elapsed;
      const refusedHandshakes = [...got.counts].filter(([k]) => k.startsWith("429")).length;
      return {
        got,
        details: {
          stored,
          storedPerSecond: Math.round(stored / elapsed),
          allowed: Math.round(allowed),
          retryAfter,
          handshakeRate: rejected(m, "handshake_rate_ip"),
        },
        checks: [
          {
            what: `messages stored at most RATE_BURST_PER_IP + RATE_LIMIT_PER_IP × ${
              elapsed.toFixed(1)
            } s`,
            ok: stored > 0 && stored <= allowed,
            got: `${stored} stored (${Math.round(stored / elapsed)}/s)`,
          },
          {
            what: "the rest of each burst refused rate_limited",
            ok: got.get("error rate_limited") > 0,
            got: `${got.get("error rate_limited")} rate_limited`,
          },
          {
            what: "handshakes over the address's rate refused 429 with retry-after",
            ok: got.get("429 too many handshakes") > 0 && refusedHandshakes === 1 &&
              Number(retryAfter) >= 1,
            got: `${got.get("429 too many handshakes")} × 429, retry-after ${retryAfter}`,
          },
        ],
      };
    },
  };
}

/** Refs one KV commit may add at most (each takes two of its mutations): the bound's slack. */
const DISK_REFS_PER_COMMIT = Math.floor(KV_LIMITS.mutations / 2);

/** Size of {@linkcode refFlood}. */
export interface RefFloodSize {
  memoryLimitMb: number;
  /** Source addresses. */
  addresses: number;
  /** Connections per address, each in its own room. */
  perAddress: number;
  /** Messages per second per connection (within RATE_LIMIT and RATE_LIMIT_PER_IP). */
  perSecond: number;
  seconds: number;
  /** DEDUP_MAX_REFS for the run (default: the server's, from MEMORY_LIMIT_MB). */
  dedupMaxRefs?: number;
  /** KV_MAX_REFS for the run (default: the server's, 4 × DEDUP_MAX_REFS). */
  kvMaxRefs?: number;
}

/**
 * Row 14: many addresses send messages within every rate limit, each with a new `ref` of the
 * longest length, so the server must remember each one for DEDUP_TTL_MS (5 minutes). Expected:
 * the refs held never pass DEDUP_MAX_REFS (the oldest are forgotten first and counted), every
 * message is acknowledged, and a resend of a recent ref is still acknowledged with its offset
 * (of a forgotten one: published again on the memory engine; found on disk with `ENGINE=kv`).
 * With `ENGINE=kv` the refs on disk never pass KV_MAX_REFS by more than one commit's: when the
 * run sends more, the first ref is published again and one that only the disk kept still answers.
 *
 * @example
 * ```ts
 * const report = await runHostile(refFlood({ memoryLimitMb: 128, addresses: 8, perAddress: 5,
 *   perSecond: 18, seconds: 4, dedupMaxRefs: 1000 }));
 * ```
 */
export function refFlood(size: RefFloodSize): HostileSpec {
  const senders = size.addresses * size.perAddress;
  return {
    row: "14",
    attack: `${senders} connections from ${size.addresses} addresses, ${size.perSecond} ` +
      `messages/s each with a new 128-character ref, ${size.seconds} s`,
    memoryLimitMb: size.memoryLimitMb,
    env: {
      ...size.dedupMaxRefs === undefined ? {} : { DEDUP_MAX_REFS: String(size.dedupMaxRefs) },
      ...size.kvMaxRefs === undefined ? {} : { KV_MAX_REFS: String(size.kvMaxRefs) },
    },
    run: async ({ port, metricsUrl, config, address }) => {
      const got = new Tally();
      const acks = new Map<string, number[]>();
      const sockets: RawWs[] = [];
      const drains: Promise<string>[] = [];
      for (let i = 0; i < senders; i++) {
        const from = address(Math.floor(i / size.perAddress));
        const hs = await attackWs(port, { room: `refs-${i}` }, got, { from });
        if (!hs?.ws) continue;
        sockets.push(hs.ws);
        drains.push(drain(hs.ws, got, true, (frame) => {
          if (frame.type !== "ack") return;
          const ref = String(frame.ref);
          acks.set(ref, [...acks.get(ref) ?? [], Number(frame.offset)]);
        }));
      }
      const ref = (i: number, n: number) => `${i}-${n}-`.padEnd(128, "r");
      const frame = (i: number, n: number) =>
        JSON.stringify({ type: "message", text: `m${n}`, ref: ref(i, n) });
      let peakRefs = 0;
      let peakDiskRefs = 0;
      const sampling = loopFor(size.seconds, 1, async () => {
        const m = await readMetrics(metricsUrl);
        peakRefs = Math.max(peakRefs, m.fanout_dedup_refs ?? 0);
        peakDiskRefs = Math.max(peakDiskRefs, m.fanout_kv_disk_refs ?? 0);
        await sleep(100);
      });
      let sent = 0;
      const rounds = await loopFor(size.seconds, 1, async (n) => {
        const tick = performance.now();
        await Promise.all(sockets.map((ws, i) => ws.sendText(frame(i, n)).then(() => sent++)));
        await sleep(Math.max(0, 1000 / size.perSecond - (performance.now() - tick)));
      });
      await sampling;
      await waitFor(() => got.get("ack") >= sent, 5000);
      const max = config.dedupMaxRefs;
      const kv = config.engine === "kv";
      const diskMax = config.kvMaxRefs;
      // The disk deleted refs too: a ref memory forgot and the disk kept, halfway between.
      const diskTrimmed = kv && sent > diskMax;
      const back = Math.ceil((max + 0.9 * diskMax) / 2 / senders);
      // The newest ref of the first connection again, then its first one (forgotten by then).
      const newest = ref(0, rounds - 1);
      const oldest = ref(0, 0);
      const between = ref(0, rounds - 1 - back);
      await sockets[0].sendText(frame(0, rounds - 1));
      await sockets[0].sendText(frame(0, 0));
      if (diskTrimmed) await sockets[0].sendText(frame(0, rounds - 1 - back));
      const resent = diskTrimmed ? 3 : 2;
      await waitFor(() => got.get("ack") >= sent + resent, 5000);
      await sleep(100); // the writer's trim after the last commits
      const m = await readMetrics(metricsUrl);
      await sleep(200);
      for (const ws of sockets) ws.abort();
      await Promise.all(drains);
      const forgotten = m.fanout_dedup_refs_forgotten_total ?? 0;
      const newestAcks = acks.get(newest) ?? [];
      const oldestAcks = acks.get(oldest) ?? [];
      return {
        got,
        details: {
          sent,
          peakRefs,
          maxRefs: max,
          forgotten,
          held: m.fanout_dedup_refs ?? 0,
          ...kv
            ? { peakDiskRefs, diskMax, diskForgotten: m.fanout_kv_disk_refs_forgotten_total }
            : {},
        },
        checks: [
          {
            what: `refs held stay at most DEDUP_MAX_REFS (${max})`,
            ok: peakRefs > 0 && peakRefs <= max && (m.fanout_dedup_refs ?? 0) <= max,
            got: `peak ${peakRefs}, ${m.fanout_dedup_refs} at the end`,
          },
          {
            what: "the refs past the bound were forgotten, oldest first, and counted",
            ok: sent > max && forgotten >= sent - max,
            got: `${forgotten} forgotten of ${sent}`,
          },
          kv && !diskTrimmed
            ? {
              what:
                "the first ref sent again: memory forgot it, the disk still answers (its offset)",
              ok: oldestAcks.length === 2 && oldestAcks[1] === oldestAcks[0],
              got: `offsets ${oldestAcks}`,
            }
            : {
              what: "the first ref sent again: forgotten, so published again (a new offset)",
              ok: oldestAcks.length === 2 && oldestAcks[1] > oldestAcks[0],
              got: `offsets ${oldestAcks}`,
            },
          ...kv
            ? [{
              what: `refs on disk stay at most KV_MAX_REFS (${diskMax}) and one commit's`,
              ok: peakDiskRefs <= diskMax + DISK_REFS_PER_COMMIT &&
                (m.fanout_kv_disk_refs ?? 0) <= diskMax,
              got: `peak ${peakDiskRefs}, ${m.fanout_kv_disk_refs} at the end`,
            }]
            : [],
          ...diskTrimmed
            ? [{
              what: "the refs past KV_MAX_REFS were deleted from disk, oldest first, and counted",
              ok: (m.fanout_kv_disk_refs_forgotten_total ?? 0) >= sent - diskMax,
              got: `${m.fanout_kv_disk_refs_forgotten_total} forgotten of ${sent}`,
            }, {
              what: "a ref memory forgot and the disk kept, sent again: its first offset",
              ok: (acks.get(between) ?? []).length === 2 &&
                acks.get(between)![0] === acks.get(between)![1],
              got: `offsets ${acks.get(between)}`,
            }]
            : [],
          {
            what: "a recent ref sent again is acknowledged with its first offset",
            ok: newestAcks.length === 2 && newestAcks[0] === newestAcks[1],
            got: `offsets ${newestAcks}`,
          },
          {
            what: "every message within the limits is acknowledged (no refusal)",
            ok: got.get("ack") === sent + resent && got.get("101") === senders &&
              got.prefixed("error") === 0,
            got: got.toString(),
          },
        ],
      };
    },
  };
}
