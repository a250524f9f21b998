/**
 * A hub over fake sockets with a manual scheduler, for unit tests that need no network or sleeps.
 *
 * @module
 */

import { type Config, loadConfig } from "../../lib/shared/config.ts";
import type { UpgradedSocket } from "../../lib/hub/upgraded_socket.ts";
import type { Engine } from "../../lib/engine/engine.ts";
import type { Handshake } from "../../lib/protocol/handshake.ts";
import { Hub } from "../../lib/hub/hub.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { MemoryEngine } from "../../lib/engine/memory/memory_engine.ts";

/**
 * An upgraded socket, already open, that records what is sent and lets the test set
 * `bufferedAmount` or make `send` throw; `open()` fires the `onopen` the hub set.
 */
export class FakeSocket implements UpgradedSocket {
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  closeCode: number | null = null;
  failSend = false;
  binaryType = "blob";
  onopen: ((event: never) => unknown) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;

  /** Fires `onopen`, then waits for what it started: the hub's join (welcome or refusal). */
  async open(): Promise<void> {
    await this.onopen?.(undefined as never);
  }

  send(data: string): void {
    if (this.failSend) throw new Error("broken pipe");
    this.sent.push(data);
  }

  close(code?: number): void {
    this.closeCode = code ?? 1005;
    this.readyState = 3;
  }

  /** Every JSON object received, NDJSON lines split. */
  // deno-lint-ignore no-explicit-any
  objects(): any[] {
    return this.sent.flatMap((frame) => frame.split("\n").map((line) => JSON.parse(line)));
  }
}

/**
 * A hub over the memory engine (epoch `epoch1`) whose deferred work and timers run only when the
 * test says so.
 *
 * @example
 * ```ts
 * const t = fakeHub({ PRESENCE_INTERVAL_MS: "50" });
 * const { socket } = await t.connect({ room: "r" });
 * await t.tick();
 * ```
 */
export function fakeHub(env: Record<string, string> = {}) {
  return hubWith(
    (config, now) => new MemoryEngine({ ...config, now, newEpoch: () => "epoch1" }),
    env,
  );
}

/**
 * A hub over the engine `makeEngine` builds, on a manual clock and scheduler: connections are
 * named `c1`, `c2`, ...; `turn` runs the deferred flushes, `tick` the timers.
 *
 * @example
 * ```ts
 * const t = hubWith(() => new ScriptedEngine());
 * const joining = t.start(); // the join is pending until the test awaits `joining.open`
 * ```
 */
export function hubWith<E extends Engine>(
  makeEngine: (config: Config, now: () => number) => E,
  env: Record<string, string> = {},
) {
  const config = loadConfig({ PRESENCE_INTERVAL_MS: "100", ...env });
  let now = 1_000_000;
  const deferred: (() => void)[] = [];
  const timers = new Map<number, () => void>();
  let handles = 0;
  const engine = makeEngine(config, () => now);
  let n = 0;
  const hub = new Hub({
    config,
    engine,
    logger: silentLogger,
    monotonic: () => now,
    newId: () => `c${++n}`,
    defer: (fn) => deferred.push(fn),
    timers: {
      setTimer: (fn) => (timers.set(++handles, fn), handles),
      clearTimer: (handle) => void timers.delete(handle as number),
    },
  });
  engine.start(hub.events);
  const turn = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    while (deferred.length) deferred.shift()!();
  };
  const start = (query: Partial<Handshake> = {}, json = true) => {
    const socket = new FakeSocket();
    const handshake: Handshake = {
      room: "lobby",
      name: null,
      client: null,
      resume: null,
      ...query,
    };
    const conn = hub.attach(socket, handshake, json, null);
    return { socket, conn, open: socket.open() };
  };
  return {
    hub,
    engine,
    advance(ms: number) {
      now += ms;
    },
    /** Lets promises settle, then runs the turn's deferred flushes. */
    turn,
    /** Fires the timers (presence batches, slow-consumer checks), then flushes. */
    async tick() {
      for (let due = timers.entries().next(); !due.done; due = timers.entries().next()) {
        timers.delete(due.value[0]);
        due.value[1]();
      }
      await turn();
    },
    /** Accepts a fake socket; `open` is the pending join (await it, or not yet). */
    start,
    /** Connects a fake socket and lets it join. */
    async connect(query: Partial<Handshake> = {}, json = true) {
      const joined = start(query, json);
      await joined.open;
      await turn();
      return joined;
    },
  };
}
