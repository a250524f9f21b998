/**
 * A WebSocket test client that records every frame (split on NDJSON lines in JSON mode) and
 * waits for the one a test expects.
 *
 * @module
 */

// deno-lint-ignore no-explicit-any
export type Frame = any;

/**
 * Connects and records frames.
 *
 * @example
 * ```ts
 * const c = await TestClient.connect(srv.wsUrl({ room: "r" }), { json: true });
 * const welcome = await c.next((f) => f.type === "welcome");
 * await c.close();
 * ```
 */
export class TestClient {
  readonly ws: WebSocket;
  readonly json: boolean;
  /** Every frame received, parsed in JSON mode, raw text otherwise. */
  readonly frames: Frame[] = [];
  /** Raw WebSocket frames, before NDJSON splitting. */
  readonly rawFrames: string[] = [];
  readonly closed: Promise<CloseEvent>;
  #waiters: (() => void)[] = [];
  #cursor = 0;

  private constructor(ws: WebSocket, json: boolean) {
    this.ws = ws;
    this.json = json;
    this.closed = new Promise((resolve) => ws.addEventListener("close", resolve));
    ws.addEventListener("message", (event) => {
      const data = typeof event.data === "string" ? event.data : "[binary]";
      this.rawFrames.push(data);
      if (json) { for (const line of data.split("\n")) this.frames.push(JSON.parse(line)); }
      else this.frames.push(data);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    ws.addEventListener("close", () => {
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Opens a connection; rejects with the HTTP failure if the handshake fails. */
  static connect(
    url: string,
    options: { json?: boolean; headers?: HeadersInit; protocols?: string[] } = {},
  ): Promise<TestClient> {
    const json = options.json ?? true;
    const protocols = [...(json ? ["fanout.v1"] : []), ...(options.protocols ?? [])];
    const init = { protocols, headers: options.headers };
    const ws = new WebSocket(url, init as unknown as string[]);
    const client = new TestClient(ws, json);
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(client), { once: true });
      ws.addEventListener("error", () => reject(new Error(`could not connect to ${url}`)), {
        once: true,
      });
    });
  }

  /** Connects in JSON mode and waits for the welcome. */
  static async join(url: string): Promise<{ client: TestClient; welcome: Frame }> {
    const client = await TestClient.connect(url);
    const welcome = await client.next((f) => f.type === "welcome");
    return { client, welcome };
  }

  /** Sends a JSON object (JSON mode) or a raw string. */
  send(frame: unknown): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /**
   * Resolves with the first frame after the cursor that matches, and moves the cursor past it.
   * Rejects after `timeoutMs` or when the socket closes first.
   */
  async next(match: (f: Frame) => boolean = () => true, timeoutMs = 3000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      for (let i = this.#cursor; i < this.frames.length; i++) {
        if (match(this.frames[i])) {
          this.#cursor = i + 1;
          return this.frames[i];
        }
      }
      if (this.ws.readyState >= WebSocket.CLOSING) {
        throw new Error("socket closed before the expected frame");
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no matching frame within ${timeoutMs} ms; got ${
            JSON.stringify(this.frames).slice(-400)
          }`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Frames of a type received so far. */
  ofType(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /** Waits `ms` and returns the frames that arrived meanwhile (to check that nothing came). */
  async quietFor(ms: number): Promise<Frame[]> {
    const before = this.frames.length;
    await new Promise((r) => setTimeout(r, ms));
    return this.frames.slice(before);
  }

  /** Closes (if still open) and waits for the close event. */
  async close(code = 1000): Promise<CloseEvent> {
    if (this.ws.readyState < WebSocket.CLOSING) this.ws.close(code);
    return await this.closed;
  }
}
