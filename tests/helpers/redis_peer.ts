/**
 * A resilient chat participant for multi-process tests, speaking the raw protocol through
 * {@linkcode TestClient}: it resumes with `since`+`epoch` after a reconnect, keeps unacknowledged
 * messages in an outbox and resends them (same `ref`), and counts every message it receives.
 * Like a real client it keeps its position in its welcome's epoch, so it records as violations
 * what would make a real client drop or misplace a message: a live message of another epoch, or
 * one `(epoch, offset)` naming two different texts.
 *
 * @module
 */

import { epochOf } from "../../lib/engine/engine.ts";
import { type Frame, TestClient } from "./ws_client.ts";

/** A participant that survives reconnects. */
export class Peer {
  readonly clientId: string;
  /** Times each text was received from others (history and live). */
  readonly received = new Map<string, number>();
  /** Offset of each received text, to compare across peers. */
  readonly offsets = new Map<string, string>();
  /** Texts this peer sent that were acknowledged. */
  readonly acked = new Set<string>();
  /** Unacknowledged texts by ref. */
  readonly outbox = new Map<string, string>();
  /** What a real client would have dropped or misplaced (should stay empty). */
  readonly violations: string[] = [];
  unavailable = 0;
  welcomes: Frame[] = [];
  client: TestClient | null = null;
  #room: string;
  #epoch: string | null = null;
  #since = 0;
  #sent = 0;
  /** Text of every `(epoch, offset)` seen, as a real client's duplicate filter keys them. */
  #names = new Map<string, string>();

  constructor(readonly name: string, room: string) {
    this.clientId = `peer-${name}-${crypto.randomUUID().slice(0, 8)}`;
    this.#room = room;
  }

  /** Codes of the closes the server initiated. */
  readonly closeCodes: number[] = [];
  /** Connections this peer closed itself. */
  #leaving = new WeakSet<TestClient>();

  /**
   * Connects to `wsUrl(query)` (resuming when it has a position) and resends the outbox. With
   * `rejoin`, a close with 1012 (restart, or the room's history was reset) reconnects at once,
   * as a real client does.
   */
  async connect(
    wsUrl: (query: Record<string, string>) => string,
    options: { rejoin?: boolean } = {},
  ): Promise<Frame> {
    const query: Record<string, string> = {
      room: this.#room,
      name: this.name,
      client: this.clientId,
    };
    if (this.#epoch !== null) {
      Object.assign(query, { since: String(this.#since), epoch: this.#epoch });
    }
    const client = await TestClient.connect(wsUrl(query));
    this.client = client;
    client.closed.then((event) => {
      if (this.#leaving.has(client)) return;
      this.closeCodes.push(event.code);
      if (!options.rejoin || event.code !== 1012 || this.client !== client) return;
      setTimeout(() => this.connect(wsUrl, options).catch(() => {}), 20);
    });
    client.ws.addEventListener("message", (event) => {
      for (const line of String(event.data).split("\n")) this.#handle(JSON.parse(line));
    });
    const welcome = await client.next((f) => f.type === "welcome", 8000);
    this.resend();
    return welcome;
  }

  /** True while connected. */
  get open(): boolean {
    return this.client !== null && this.client.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a new message `<name>-<n>` and keeps it in the outbox until acked. */
  send(): string {
    const text = `${this.name}-${++this.#sent}`;
    this.outbox.set(text, text);
    if (this.open) this.client!.send({ type: "message", text, ref: text });
    return text;
  }

  /** Resends every unacknowledged message (same ref, so the server deduplicates). */
  resend(): void {
    if (!this.open) return;
    for (const [ref, text] of this.outbox) this.client!.send({ type: "message", text, ref });
  }

  /** Closes the connection (the peer keeps its state for the next connect). */
  async disconnect(): Promise<void> {
    if (this.client) this.#leaving.add(this.client);
    await this.client?.close();
  }

  #handle(frame: Frame): void {
    if (frame.type === "welcome") {
      this.welcomes.push(frame);
      this.#epoch = frame.epoch;
      this.#since = frame.offset;
      for (const m of frame.history) this.#message(m, false);
    } else if (frame.type === "message") {
      this.#message(frame, true);
    } else if (frame.type === "ack") {
      this.outbox.delete(frame.ref);
      this.acked.add(frame.ref);
    } else if (frame.type === "error" && frame.code === "unavailable") {
      this.unavailable++;
    }
  }

  #message(m: Frame, live: boolean): void {
    this.received.set(m.text, (this.received.get(m.text) ?? 0) + 1);
    this.offsets.set(m.text, m.id);
    if (epochOf(m) !== this.#epoch) {
      this.violations.push(`${m.id} (${m.text}) delivered under epoch ${this.#epoch}`);
    }
    const named = this.#names.get(m.id);
    if (named !== undefined && named !== m.text) {
      this.violations.push(`${m.id} names both ${named} and ${m.text}`);
    }
    this.#names.set(m.id, m.text);
    if (live) this.#since = Math.max(this.#since, m.offset);
  }
}

/** Texts sent and acknowledged by `peers` other than `me`. */
export function ackedByOthers(peers: Peer[], me: Peer): string[] {
  return peers.filter((p) => p !== me).flatMap((p) => [...p.acked]);
}

/**
 * Waits until `ok()` holds, polling; throws `what` on timeout.
 *
 * @example
 * ```ts
 * await eventually("all acked", () => peers.every((p) => p.outbox.size === 0));
 * ```
 */
export async function eventually(what: string, ok: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
