/**
 * Fakes for unit tests of the transport (HTTP server, connections, WebSockets): a TCP
 * connection whose reads the test feeds and whose writes it records and can make short, pending
 * or failing; a listener whose `accept` the test controls; and manual timers. No socket, no
 * real sleep.
 *
 * @module
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * One turn of the event loop (a zero-delay macrotask: lets promises and async ops such as
 * `crypto.subtle` settle; not a sleep).
 *
 * @example
 * ```ts
 * await tick();
 * ```
 */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Turns the event loop until `condition` holds; throws with `what` after `turns` turns.
 *
 * @example
 * ```ts
 * await until(() => conn.text().includes("200 OK"), "the response");
 * ```
 */
export async function until(condition: () => boolean, what: string, turns = 200): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return;
    await tick();
  }
  throw new Error(`gave up waiting for ${what} after ${turns} event-loop turns`);
}

type WriteMode =
  | { kind: "all" }
  | { kind: "short"; max: number }
  | { kind: "hold" }
  | { kind: "fail"; error: Error };

/**
 * A TCP connection (`ConnLike`, `AcceptedConn`): the test feeds what the peer sends with
 * {@linkcode FakeConn.feed}, and reads what the server wrote with {@linkcode FakeConn.text}.
 * Writes take everything (default), at most `max` bytes ({@linkcode FakeConn.shortWrites}), stay
 * pending until released ({@linkcode FakeConn.holdWrites}), or reject.
 *
 * @example
 * ```ts
 * const conn = new FakeConn();
 * conn.feed("GET / HTTP/1.1\r\n\r\n");
 * conn.end();
 * ```
 */
export class FakeConn {
  readonly remoteAddr: { transport: "tcp"; hostname: string; port: number };
  /** Every chunk the kernel took, in order. */
  readonly writes: Uint8Array[] = [];
  /** How many times `write` was called (short writes and the rest included). */
  writeCalls = 0;
  /** How many times `read` was called. */
  readCalls = 0;
  closeCalls = 0;
  closed = false;
  /** Every `setNoDelay` call, with its argument (`Deno.TcpConn`'s default is `true`). */
  readonly noDelayCalls: boolean[] = [];
  #incoming: Uint8Array[] = [];
  #eof = false;
  #readError: Error | null = null;
  #pendingRead: {
    buffer: Uint8Array;
    resolve: (n: number | null) => void;
    reject: (err: Error) => void;
  } | null = null;
  #mode: WriteMode = { kind: "all" };
  #held: { bytes: Uint8Array; resolve: (n: number) => void; reject: (err: Error) => void }[] = [];

  constructor(hostname = "127.0.0.1", port = 40000) {
    this.remoteAddr = { transport: "tcp", hostname, port };
  }

  /** The peer sends `data`. */
  feed(data: string | Uint8Array): void {
    this.#incoming.push(typeof data === "string" ? enc.encode(data) : data.slice());
    this.#serveRead();
  }

  /** The peer ends its side: reads resolve null once what was fed is read. */
  end(): void {
    this.#eof = true;
    this.#serveRead();
  }

  /** The next read (pending or not) rejects with `error` (a reset). */
  failRead(error = new Error("connection reset")): void {
    this.#readError = error;
    this.#serveRead();
  }

  /** A read is waiting for bytes. */
  get reading(): boolean {
    return this.#pendingRead !== null;
  }

  /** Bytes fed and not read yet. */
  get unread(): number {
    return this.#incoming.reduce((n, c) => n + c.length, 0);
  }

  /** From now on every write takes at most `max` bytes. */
  shortWrites(max: number): void {
    this.#mode = { kind: "short", max };
  }

  /** From now on writes stay pending (a peer that does not read) until released. */
  holdWrites(): void {
    this.#mode = { kind: "hold" };
  }

  /** From now on writes reject with `error`. */
  failWrites(error = new Error("broken pipe")): void {
    this.#mode = { kind: "fail", error };
  }

  /** Back to writes that take everything; writes held so far complete. */
  takeAll(): void {
    this.#mode = { kind: "all" };
    this.releaseWrites();
  }

  /** Writes held now. */
  get heldWrites(): number {
    return this.#held.length;
  }

  /** Completes the writes held so far, each taking at most `max` bytes (default: all). */
  releaseWrites(max = Infinity): void {
    const held = this.#held;
    this.#held = [];
    for (const w of held) {
      const n = Math.min(max, w.bytes.length);
      this.writes.push(w.bytes.slice(0, n));
      w.resolve(n);
    }
  }

  /** Records the call, as `Deno.TcpConn.setNoDelay` would set `TCP_NODELAY`. */
  setNoDelay(noDelay = true): void {
    this.noDelayCalls.push(noDelay);
  }

  read(buffer: Uint8Array): Promise<number | null> {
    this.readCalls++;
    if (this.#pendingRead !== null) throw new Error("two reads at once on one connection");
    return new Promise((resolve, reject) => {
      this.#pendingRead = { buffer, resolve, reject };
      this.#serveRead();
    });
  }

  #serveRead(): void {
    const pending = this.#pendingRead;
    if (pending === null) return;
    if (this.#readError !== null) {
      const err = this.#readError;
      this.#readError = null;
      this.#pendingRead = null;
      return pending.reject(err);
    }
    if (this.closed) {
      this.#pendingRead = null;
      return pending.reject(Object.assign(new Error("Bad resource ID"), { name: "BadResource" }));
    }
    const chunk = this.#incoming[0];
    if (chunk === undefined) {
      if (!this.#eof) return;
      this.#pendingRead = null;
      return pending.resolve(null);
    }
    const n = Math.min(chunk.length, pending.buffer.length);
    pending.buffer.set(chunk.subarray(0, n));
    if (n === chunk.length) this.#incoming.shift();
    else this.#incoming[0] = chunk.subarray(n);
    this.#pendingRead = null;
    pending.resolve(n);
  }

  write(bytes: Uint8Array): Promise<number> {
    this.writeCalls++;
    if (this.closed) {
      return Promise.reject(Object.assign(new Error("Bad resource ID"), { name: "BadResource" }));
    }
    const mode = this.#mode;
    if (mode.kind === "fail") return Promise.reject(mode.error);
    if (mode.kind === "hold") {
      // Kept by reference, as Deno's write op keeps the buffer it was given: what the caller
      // writes into it before the write completes is what gets written.
      return new Promise((resolve, reject) => this.#held.push({ bytes, resolve, reject }));
    }
    const n = mode.kind === "short" ? Math.min(mode.max, bytes.length) : bytes.length;
    this.writes.push(bytes.slice(0, n));
    return Promise.resolve(n);
  }

  close(): void {
    this.closeCalls++;
    if (this.closed) throw Object.assign(new Error("Bad resource ID"), { name: "BadResource" });
    this.closed = true;
    const held = this.#held;
    this.#held = [];
    for (const w of held) w.reject(Object.assign(new Error("closed"), { name: "BadResource" }));
    this.#serveRead();
  }

  /** Every byte written, joined. */
  bytes(): Uint8Array {
    const total = this.writes.reduce((n, w) => n + w.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const w of this.writes) {
      out.set(w, at);
      at += w.length;
    }
    return out;
  }

  /** Every byte written, as text. */
  text(): string {
    return dec.decode(this.bytes());
  }
}

/**
 * A listener (`ListenerLike`) whose `accept` the test answers: with a connection
 * ({@linkcode FakeListener.connect}) or an error ({@linkcode FakeListener.failAccept}).
 *
 * @example
 * ```ts
 * const listener = new FakeListener();
 * server.serve(listener);
 * const conn = listener.connect("10.0.0.1");
 * ```
 */
export class FakeListener {
  acceptCalls = 0;
  closed = false;
  #queue: ({ conn: FakeConn } | { error: Error })[] = [];
  #waiting: { resolve: (conn: FakeConn) => void; reject: (err: Error) => void } | null = null;

  accept(): Promise<FakeConn> {
    this.acceptCalls++;
    if (this.closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#serve();
    });
  }

  /** A peer at `hostname` connects; returns its connection. */
  connect(hostname = "127.0.0.1", port = 40000): FakeConn {
    const conn = new FakeConn(hostname, port);
    this.#queue.push({ conn });
    this.#serve();
    return conn;
  }

  /** The next accept rejects with `error` (e.g. out of file descriptors). */
  failAccept(error: Error): void {
    this.#queue.push({ error });
    this.#serve();
  }

  /** An accept is waiting. */
  get accepting(): boolean {
    return this.#waiting !== null;
  }

  close(): void {
    this.closed = true;
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.reject(closedError());
  }

  #serve(): void {
    const waiting = this.#waiting;
    const next = this.#queue[0];
    if (waiting === null || next === undefined) return;
    this.#queue.shift();
    this.#waiting = null;
    if ("conn" in next) waiting.resolve(next.conn);
    else waiting.reject(next.error);
  }
}

function closedError(): Error {
  return Object.assign(new Error("Listener has been closed"), { name: "BadResource" });
}

/**
 * An error like the one `Deno.Listener.accept` rejects with when the process is out of file
 * descriptors.
 *
 * @example
 * ```ts
 * listener.failAccept(emfile());
 * ```
 */
export function emfile(): Error {
  return Object.assign(new Error("Too many open files (os error 24)"), { name: "Error" });
}
