/**
 * A hub over fake sockets with a manual scheduler, for unit tests that need no network or sleeps.
 *
 * @module
 */

import { loadConfig } from "../../lib/config.ts";
import type { SocketLike } from "../../lib/connection.ts";
import type { Connection } from "../../lib/connection.ts";
import type { Handshake } from "../../lib/handshake.ts";
import { Hub } from "../../lib/hub.ts";
import { silentLogger } from "../../lib/log.ts";
import { MemoryEngine } from "../../lib/memory_engine.ts";

/** A socket that records what is sent and lets the test set `bufferedAmount` or make `send` throw. */
export class FakeSocket implements SocketLike {
  readyState = 1;
  bufferedAmount = 0;
  sent: string[] = [];
  closeCode: number | null = null;
  failSend = false;

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

/** A hub whose deferred work and timers run only when the test says so. */
export function fakeHub(env: Record<string, string> = {}) {
  const config = loadConfig({ PRESENCE_INTERVAL_MS: "100", ...env });
  let now = 1_000_000;
  const deferred: (() => void)[] = [];
  const timers: (() => void)[] = [];
  const engine = new MemoryEngine({ ...config, now: () => now, newEpoch: () => "epoch1" });
  let n = 0;
  const hub = new Hub({
    config,
    engine,
    logger: silentLogger,
    now: () => now,
    monotonic: () => now,
    newId: () => `c${++n}`,
    defer: (fn) => deferred.push(fn),
    setTimer: (fn) => timers.push(fn),
  });
  engine.start((m) => hub.deliver(m));
  return {
    hub,
    engine,
    advance(ms: number) {
      now += ms;
    },
    /** Lets promises settle, then runs the turn's deferred flushes. */
    async turn() {
      for (let i = 0; i < 5; i++) await Promise.resolve();
      while (deferred.length) deferred.shift()!();
    },
    /** Fires the presence timers, then flushes. */
    async tick() {
      while (timers.length) timers.shift()!();
      await this.turn();
    },
    /** Connects a fake socket and lets it join. */
    async connect(query: Partial<Handshake> = {}, json = true) {
      const socket = new FakeSocket();
      const handshake: Handshake = {
        room: "lobby",
        name: null,
        client: null,
        resume: null,
        ...query,
      };
      const conn = hub.accept(socket, handshake, json) as Connection;
      await hub.open(conn, handshake.resume);
      await this.turn();
      return { socket, conn };
    },
  };
}
