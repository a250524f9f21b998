/**
 * The witness of a hostile scenario: two well-behaved clients from 127.0.0.1 in their own room,
 * one sending a numbered message every few ms and the other receiving them, while an attacker
 * does its worst elsewhere. It tells how many messages were sent, acknowledged and delivered,
 * and the delivery latency (send to receipt, same clock).
 *
 * @module
 */

import { TestClient } from "../helpers/ws_client.ts";
import { latencySummary } from "./hostile_probe.ts";

/**
 * What the witness saw.
 *
 * @example
 * ```ts
 * const figures: WitnessFigures = { sent: 50, acked: 50, delivered: 50, p50: 1.2, p99: 4, max: 6,
 *   closed: null };
 * ```
 */
export interface WitnessFigures {
  sent: number;
  acked: number;
  /** Distinct messages the receiver got. */
  delivered: number;
  p50: number;
  p99: number;
  max: number;
  /** Close code if a witness socket was closed by the server, else null. */
  closed: number | null;
}

/**
 * A sender and a receiver in `room`.
 *
 * @example
 * ```ts
 * const witness = await Witness.start((q) => server.wsUrl(q), { everyMs: 100 });
 * // ... attack ...
 * const figures = await witness.stop();
 * ```
 */
export class Witness {
  #sender: TestClient;
  #receiver: TestClient;
  #sentAt: number[] = [];
  #latency = new Map<number, number>();
  #acked = new Set<string>();
  #closed: number | null = null;
  #timer: ReturnType<typeof setInterval>;

  private constructor(sender: TestClient, receiver: TestClient, everyMs: number) {
    this.#sender = sender;
    this.#receiver = receiver;
    receiver.ws.addEventListener("message", (event) => {
      const now = performance.now();
      for (const line of String(event.data).split("\n")) {
        const frame = JSON.parse(line);
        if (frame.type !== "message") continue;
        const seq = Number(/^w(\d+) /.exec(frame.text)?.[1] ?? NaN);
        if (Number.isInteger(seq) && !this.#latency.has(seq)) {
          this.#latency.set(seq, now - this.#sentAt[seq]);
        }
      }
    });
    sender.ws.addEventListener("message", (event) => {
      for (const line of String(event.data).split("\n")) {
        const frame = JSON.parse(line);
        if (frame.type === "ack") this.#acked.add(frame.ref);
      }
    });
    for (const c of [sender, receiver]) {
      c.ws.addEventListener("close", (e) => this.#closed ??= e.code);
    }
    this.#timer = setInterval(() => this.#send(), everyMs);
  }

  /** Joins both clients (the receiver first) and starts sending every `everyMs` (default 100). */
  static async start(
    wsUrl: (query: Record<string, string>) => string,
    options: { room?: string; everyMs?: number } = {},
  ): Promise<Witness> {
    const room = options.room ?? "witness";
    const { client: receiver } = await TestClient.join(wsUrl({ room, name: "witness-in" }));
    const { client: sender } = await TestClient.join(wsUrl({ room, name: "witness-out" }));
    return new Witness(sender, receiver, options.everyMs ?? 100);
  }

  #send(): void {
    if (this.#sender.ws.readyState !== WebSocket.OPEN) return;
    const seq = this.#sentAt.length;
    this.#sentAt.push(performance.now());
    this.#sender.send({ type: "message", text: `w${seq} witness`, ref: `w${seq}` });
  }

  /**
   * Stops sending, waits up to `settleMs` for the last messages and acks, closes both clients
   * and returns the figures.
   */
  async stop(settleMs = 5000): Promise<WitnessFigures> {
    clearInterval(this.#timer);
    const sent = this.#sentAt.length;
    const deadline = performance.now() + settleMs;
    while (
      performance.now() < deadline && this.#closed === null &&
      (this.#latency.size < sent || this.#acked.size < sent)
    ) await new Promise((r) => setTimeout(r, 20));
    const closed = this.#closed;
    await Promise.all([this.#sender.close(), this.#receiver.close()]);
    return {
      sent,
      acked: this.#acked.size,
      delivered: this.#latency.size,
      ...latencySummary([...this.#latency.values()]),
      closed,
    };
  }
}
