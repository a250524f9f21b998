/**
 * A small TCP proxy for tests: forwards loopback connections to a target port and can sever every
 * open connection at once, or refuse new ones, to simulate a dropped network.
 *
 * @module
 */

/** A running proxy. */
export interface TcpProxy {
  /** Port the proxy listens on (127.0.0.1). */
  port: number;
  /** Connections currently open through the proxy. */
  readonly open: number;
  /** Closes every open connection (both sides); returns how many were cut. */
  severAll(): number;
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

async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  try {
    while (true) {
      const n = await from.read(buf);
      if (n === null) break;
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
  const tasks = new Set<Promise<void>>();
  let blocked = false;
  const track = (p: Promise<void>) => {
    tasks.add(p);
    p.finally(() => tasks.delete(p));
  };
  const sever = (pair: [Deno.Conn, Deno.Conn]) => {
    pairs.delete(pair);
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
    pairs.add(pair);
    await Promise.all([pump(client, upstream), pump(upstream, client)].map((p) =>
      p.then(() => {
        if (pairs.has(pair)) sever(pair);
      })
    ));
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
    setBlocked(value) {
      blocked = value;
    },
    async close() {
      listener.close();
      await accepting;
      for (const pair of [...pairs]) sever(pair);
      while (tasks.size > 0) await Promise.all([...tasks]);
    },
  };
}
