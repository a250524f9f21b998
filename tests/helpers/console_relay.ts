/**
 * A WebSocket-aware TCP relay for console client tests: it forwards connections to a server
 * unchanged, reads the frames the client sends (to record the close code on the wire), and can
 * cut a connection right after forwarding a message frame, so that the server stores the message
 * but its ack never reaches the client.
 *
 * @module
 */

import { decodeFrame, Op } from "./masked_frames.ts";

/** A running relay. */
export interface WsRelay {
  /** `ws://127.0.0.1:<relay port>/ws`. */
  url: string;
  /** Codes of the close frames clients sent (null: a close frame without a code), in order. */
  readonly closeCodes: (number | null)[];
  /** Connections accepted so far. */
  readonly connections: number;
  /** Arms a cut: the next message frame is forwarded, then the client's connection is closed. */
  cutAfterNextMessage(): void;
  /** Resolves once a cut happened and the server's reply (the lost ack) was thrown away. */
  readonly cut: Promise<void>;
  /** Stops listening, closes every connection and waits for the pumps. */
  close(): Promise<void>;
}

const HEADER_END = [13, 10, 13, 10];

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfSeq(data: Uint8Array, seq: number[]): number {
  outer: for (let i = 0; i + seq.length <= data.length; i++) {
    for (let j = 0; j < seq.length; j++) if (data[i + j] !== seq[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Starts a relay to `127.0.0.1:targetPort`.
 *
 * @example
 * ```ts
 * const relay = startWsRelay(server.port);
 * // run the client with --url relay.url ... then:
 * assert.deepEqual(relay.closeCodes, [1000]);
 * await relay.close();
 * ```
 */
export function startWsRelay(targetPort: number): WsRelay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  const closeCodes: (number | null)[] = [];
  const cut = Promise.withResolvers<void>();
  let armed = false;
  let connections = 0;
  const decoder = new TextDecoder();

  const serve = async (client: Deno.Conn) => {
    connections++;
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
    } catch {
      return closeQuietly(client);
    }
    conns.add(client);
    conns.add(upstream);
    let dropping = false; // after a cut: the server's replies are thrown away
    const end = () => {
      for (const conn of [client, upstream]) {
        conns.delete(conn);
        closeQuietly(conn);
      }
    };
    const fromClient = async () => {
      let buf: Uint8Array = new Uint8Array(0);
      let upgraded = false;
      for await (const chunk of client.readable) {
        buf = concat(buf, chunk);
        if (!upgraded) {
          const at = indexOfSeq(buf, HEADER_END);
          if (at < 0) continue;
          await writeAll(upstream, buf.subarray(0, at + 4));
          buf = buf.slice(at + 4);
          upgraded = true;
        }
        for (let next = decodeFrame(buf); next; next = decodeFrame(buf)) {
          const { frame, size } = next;
          await writeAll(upstream, buf.subarray(0, size));
          buf = buf.slice(size);
          if (frame.opcode === Op.close) closeCodes.push(frame.code ?? null);
          const text = frame.opcode === Op.text ? frame.text ?? "" : "";
          if (armed && text.includes('"type":"message"')) {
            armed = false;
            dropping = true;
            conns.delete(client);
            closeQuietly(client); // the client sees the connection drop (1006)
            return; // the server side stays open until the ack comes back
          }
        }
      }
      end();
    };
    const fromServer = async () => {
      for await (const chunk of upstream.readable) {
        if (!dropping) {
          await writeAll(client, chunk);
          continue;
        }
        if (decoder.decode(chunk).includes('"type":"ack"')) {
          cut.resolve(); // the server stored the message; its ack is lost here
          break;
        }
      }
      end();
    };
    await Promise.all([fromClient().catch(end), fromServer().catch(end)]);
  };

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const task = serve(conn);
        tasks.add(task);
        task.finally(() => tasks.delete(task));
      }
    } catch {
      // listener closed
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    closeCodes,
    get connections() {
      return connections;
    },
    cutAfterNextMessage() {
      armed = true;
    },
    cut: cut.promise,
    async close() {
      listener.close();
      await accepting;
      for (const conn of [...conns]) closeQuietly(conn);
      conns.clear();
      while (tasks.size > 0) await Promise.all([...tasks]);
    },
  };
}
