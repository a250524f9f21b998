/**
 * A reconnecting JSON-mode client for chaos tests: it resumes with `since`+`epoch`, resends
 * unacknowledged messages with their original `ref`, and records every welcome and message so a
 * test can check for loss, gaps and duplicates.
 *
 * @module
 */

/** A welcome as the client saw it. */
export interface SeenWelcome {
  epoch: string;
  offset: number;
  recovered: boolean;
  history: number;
}

/** A message as the client saw it, with the epoch it belongs to. */
export interface SeenMessage {
  epoch: string;
  offset: number;
  text: string;
}

/** Options of {@linkcode ChaosClient}. */
export interface ChaosClientOptions {
  /** Current `/ws` URL (without query): it may change when a server restarts elsewhere. */
  url: () => string;
  room: string;
  client: string;
  /** Delay before a reconnect, in ms (default 50). */
  retryMs?: number;
}

/**
 * Connects, and reconnects after every close until {@linkcode ChaosClient.stop}.
 *
 * @example
 * ```ts
 * const c = new ChaosClient({ url: () => srv.wsUrl(), room: "r", client: "client-01" });
 * c.start();
 * c.send("hello", "r1");
 * await c.stop();
 * ```
 */
export class ChaosClient {
  readonly welcomes: SeenWelcome[] = [];
  readonly messages: SeenMessage[] = [];
  /** Duplicates or gaps seen within one epoch. */
  readonly violations: string[] = [];
  /** `ref` → where it was acknowledged. */
  readonly acked = new Map<string, { epoch: string; offset: number }>();
  /** Unacknowledged messages, in sending order. */
  readonly outbox = new Map<string, string>();
  connects = 0;
  /** Messages sent again after a reconnect although they had been sent before (the server may have them). */
  replays = 0;
  #sentOnce = new Set<string>();
  #opts: ChaosClientOptions;
  #ws: WebSocket | null = null;
  #ready = false;
  #stopped = false;
  #epoch: string | null = null;
  #offset = 0;
  #loop: Promise<void> | null = null;

  constructor(options: ChaosClientOptions) {
    this.#opts = options;
  }

  /** True between a welcome and the next close. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Epoch of the last welcome. */
  get epoch(): string | null {
    return this.#epoch;
  }

  /** Starts the connect loop. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Queues a message; it is sent now if connected, else after the next welcome. */
  send(text: string, ref: string): void {
    this.outbox.set(ref, text);
    if (!this.#ready) return;
    this.#ws!.send(JSON.stringify({ type: "message", text, ref }));
    this.#sentOnce.add(ref);
  }

  /** Stops reconnecting and closes the socket. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#ws?.close();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      await this.#connectOnce();
      if (!this.#stopped) await new Promise((r) => setTimeout(r, this.#opts.retryMs ?? 50));
    }
  }

  #connectOnce(): Promise<void> {
    const query = new URLSearchParams({ room: this.#opts.room, client: this.#opts.client });
    if (this.#epoch !== null) {
      query.set("since", String(this.#offset));
      query.set("epoch", this.#epoch);
    }
    const ws = new WebSocket(`${this.#opts.url()}?${query}`, ["fanout.v1"]);
    this.#ws = ws;
    this.connects++;
    ws.onmessage = (event) => {
      for (const line of (event.data as string).split("\n")) this.#frame(JSON.parse(line));
    };
    return new Promise((resolve) => {
      ws.onclose = () => {
        this.#ready = false;
        resolve();
      };
      ws.onerror = () => {}; // a close follows
    });
  }

  // deno-lint-ignore no-explicit-any
  #frame(f: any): void {
    if (f.type === "welcome") {
      this.welcomes.push({
        epoch: f.epoch,
        offset: f.offset,
        recovered: f.recovered,
        history: f.history.length,
      });
      if (!f.recovered || f.epoch !== this.#epoch) {
        this.#epoch = f.epoch;
        this.#offset = f.history.length ? f.history[0].offset - 1 : f.offset;
      }
      for (const m of f.history) this.#message(m);
      this.#offset = Math.max(this.#offset, f.offset);
      this.#ready = true;
      for (const [ref, text] of this.outbox) {
        this.#ws!.send(JSON.stringify({ type: "message", text, ref }));
        if (this.#sentOnce.has(ref)) this.replays++;
        this.#sentOnce.add(ref);
      }
    } else if (f.type === "message") this.#message(f);
    else if (f.type === "ack") {
      this.outbox.delete(f.ref);
      this.#sentOnce.delete(f.ref);
      this.acked.set(f.ref, { epoch: this.#epoch!, offset: f.offset });
    } else if (f.type === "error") this.violations.push(`error ${f.code}: ${f.message}`);
  }

  // deno-lint-ignore no-explicit-any
  #message(m: any): void {
    if (m.offset <= this.#offset) {
      this.violations.push(`duplicate offset ${m.offset} (already at ${this.#offset})`);
      return;
    }
    this.messages.push({ epoch: this.#epoch!, offset: m.offset, text: m.text });
    this.#offset = m.offset;
  }
}
