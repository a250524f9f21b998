/**
 * A small TCP proxy for tests: forwards loopback connections to a target port and can sever every
 * open connection at once, or refuse new ones, to simulate a dropped network. It can also cut
 * chosen connections only (a random one, a random subset, or those whose HTTP request line
 * matches), and stall a connection's server-to-client direction before cutting it, so that what
 * the client sent last arrives while the answers are lost.
 *
 * @module
 */

/** Which connections {@linkcode TcpProxy.severRandom} and {@linkcode TcpProxy.stallThenSever} pick. */
export interface PickOptions {
  /** Source of randomness in [0, 1) (default `Math.random`): pass a seeded one to replay. */
  random?: () => number;
  /** Only connections whose first request line (e.g. `GET /ws?room=r HTTP/1.1`) passes. */
  filter?: (request: string) => boolean;
}

/** A running proxy. */
export interface TcpProxy {
  /** Port the proxy listens on (127.0.0.1). */
  port: number;
  /** Connections currently open through the proxy. */
  readonly open: number;
  /** Closes every open connection (both sides); returns how many were cut. */
  severAll(): number;
  /**
   * Closes up to `count` open connections picked at random; returns how many were cut.
   *
   * @example
   * ```ts
   * proxy.severRandom(1, { random: seededRandom(7), filter: (r) => r.includes("client=s") });
   * ```
   */
  severRandom(count: number, options?: PickOptions): number;
  /**
   * Picks up to `count` connections like {@linkcode TcpProxy.severRandom}, drops what the server
   * sends them for `ms` (what the client sends still goes through), then closes them. Returns how
   * many were picked.
   *
   * @example
   * ```ts
   * proxy.stallThenSever(1, 150); // the client's messages arrive; their acks never do
   * ```
   */
  stallThenSever(count: number, ms: number, options?: PickOptions): number;
  /** First request line of each open connection ("" until it arrived). */
  requests(): string[];
  /** While blocked, new connections are accepted and closed at once. */
  setBlocked(blocked: boolean): void;
  /** Stops listening, severs everything and waits for the pumps to end. */
  close(): Promise<void>;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** What the proxy knows of one connection besides its two sockets. */
interface LinkState {
  request: string;
  /** While true, bytes from the server are read and dropped. */
  stalled: boolean;
}

async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  onChunk?: (chunk: Uint8Array) => boolean,
): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
      if (onChunk && !onChunk(buf.subarray(0, n))) continue;
      let off = 0;
      while (off < n) off += await to.write(buf.subarray(off, n));
    }
  } catch {
    // severed
  }
}

/**
 * Starts a proxy to `127.0.0.1:targetPort`.
 *
 * @example
 * ```ts
 * const proxy = await startTcpProxy(server.port);
 * try { proxy.severAll(); } finally { await proxy.close(); }
 * ```
 */
export function startTcpProxy(targetPort: number): TcpProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const pairs = new Set<[Deno.Conn, Deno.Conn]>();
  const states = new Map<[Deno.Conn, Deno.Conn], LinkState>();
  const stallTimers = new Set<ReturnType<typeof setTimeout>>();
  const tasks = new Set<Promise<void>>();
  let blocked = false;
  const track = (p: Promise<void>) => {
    tasks.add(p);
    p.finally(() => tasks.delete(p));
  };
  const sever = (pair: [Deno.Conn, Deno.Conn]) => {
    pairs.delete(pair);
    states.delete(pair);
    closeQuietly(pair[0]);
    closeQuietly(pair[1]);
  };
  const serve = async (client: Deno.Conn) => {
    if (blocked) return closeQuietly(client);
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    } catch {
      return closeQuietly(client);
    }
    const pair: [Deno.Conn, Deno.Conn] = [client, upstream];
    const state: LinkState = { request: "", stalled: false };
    pairs.add(pair);
    states.set(pair, state);
    const head = new TextDecoder();
    let headDone = false;
    const fromClient = (chunk: Uint8Array) => {
      if (!headDone) {
        state.request += head.decode(chunk, { stream: true });
        const eol = state.request.indexOf("\r\n");
        if (eol >= 0 || state.request.length > 8192) {
          headDone = true;
          if (eol >= 0) state.request = state.request.slice(0, eol);
        }
      }
      return true;
    };
    const fromServer = () => !state.stalled;
    const pumps = [pump(client, upstream, fromClient), pump(upstream, client, fromServer)];
    await Promise.all(pumps.map((p) =>
      p.then(() => {
        if (pairs.has(pair)) sever(pair);
      })
    ));
  };
  /** Up to `count` open pairs, picked at random among those that pass the filter. */
  const pick = (count: number, options: PickOptions = {}) => {
    const random = options.random ?? Math.random;
    const filter = options.filter ?? (() => true);
    const pool = [...pairs].filter((pair) => filter(states.get(pair)?.request ?? ""));
    const picked: [Deno.Conn, Deno.Conn][] = [];
    while (picked.length < count && pool.length > 0) {
      picked.push(pool.splice(Math.floor(random() * pool.length), 1)[0]);
    }
    return picked;
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) track(serve(conn));
    } catch {
      // listener closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    get open() {
      return pairs.size;
    },
    severAll() {
      const n = pairs.size;
      for (const pair of [...pairs]) sever(pair);
      return n;
    },
    severRandom(count, options) {
      const picked = pick(count, options);
      for (const pair of picked) sever(pair);
      return picked.length;
    },
    stallThenSever(count, ms, options) {
      const picked = pick(count, options);
      for (const pair of picked) states.get(pair)!.stalled = true;
      const timer = setTimeout(() => {
        stallTimers.delete(timer);
        for (const pair of picked) if (pairs.has(pair)) sever(pair);
      }, ms);
      stallTimers.add(timer);
      return picked.length;
    },
    requests() {
      return [...pairs].map((pair) => states.get(pair)?.request ?? "");
    },
    setBlocked(value) {
      blocked = value;
    },
    async close() {
      for (const timer of stallTimers) clearTimeout(timer);
      stallTimers.clear();
      listener.close();
      await accepting;
      for (const pair of [...pairs]) sever(pair);
      while (tasks.size > 0) await Promise.all([...tasks]);
    },
  };
}
