/**
 * An echo server for conformance runs (`deno task autobahn`): every text and binary message comes
 * back to the socket that sent it. It serves the transport of `deno task start`: `Deno.listen`,
 * Fanout's `HttpServer` with the limits `listen` gives it (read from the same environment
 * variables), and the routes' upgrade (`denoUpgrade`, which gives Fanout's `ServerWebSocket` for
 * the requests that server read). `scripts/echo_serve.ts` is the same echo under `deno serve`,
 * where `denoUpgrade` gives Deno's socket. The product never starts either.
 *
 * ```sh
 * PORT=9001 deno run --allow-net --allow-env --allow-read scripts/echo_server.ts
 * deno run --allow-net --allow-env --allow-read scripts/echo_server.ts --port 9001 \
 *   --max-message-bytes 16777216 --max-fragments 65537
 * ```
 *
 * @module
 */

import {
  denoUpgrade,
  HTTP_CONNECTIONS_PER_IP,
  loadConfigOrExit,
  maxTcpConnections,
} from "../lib/server/deno_server.ts";
import type { Upgrade } from "../lib/hub/upgraded_socket.ts";
import type { Config } from "../lib/shared/config.ts";
import { addressKey } from "../lib/transport/client_address.ts";
import { HttpServer } from "../lib/transport/http_server.ts";
import { ServerWebSocket } from "../lib/transport/server_web_socket.ts";
import { encodeFrame, Opcode } from "../lib/transport/ws_frames.ts";

/**
 * The echo handler over an upgrade: `/` (any path) upgrades and echoes; a request that is not a
 * WebSocket handshake gets 426 with the reason.
 *
 * @example
 * ```ts
 * Deno.serve(echoHandler(denoUpgrade)); // what scripts/echo_serve.ts does under deno serve
 * ```
 */
export function echoHandler(upgrade: Upgrade): (req: Request) => Response {
  return (req) => {
    let upgraded: ReturnType<Upgrade>;
    try {
      upgraded = upgrade(req, {});
    } catch (err) {
      return new Response(`not a WebSocket handshake: ${(err as Error).message}\n`, {
        status: 426,
      });
    }
    const { socket, response } = upgraded;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event: { data: string | ArrayBuffer }) => {
      const data = event.data;
      if (typeof data === "string") socket.send(data);
      // Fanout's socket sends text only (the hub needs no more): a binary frame goes encoded.
      else if (socket instanceof ServerWebSocket) {
        socket.sendFrame(encodeFrame(Opcode.binary, new Uint8Array(data)));
      } else (socket as unknown as WebSocket).send(data);
    };
    return response;
  };
}

/** Options of {@linkcode startEchoServer}. */
export interface EchoServerOptions {
  /** The settings `listen` reads (`HOST`, `PORT`, `MAX_MESSAGE_BYTES`, the timeouts, ...). */
  config: Config;
  /** Largest incoming message; default `listen`'s, 4 × `MAX_MESSAGE_BYTES`. */
  maxMessageBytes?: number;
  /** Most fragments of an incoming message; default `listen`'s, 1024. */
  maxFragments?: number;
}

/** A listening echo server. */
export interface EchoServer {
  port: number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/**
 * Listens on `config.host:config.port` with Fanout's own server, set up as `listen` sets it up.
 *
 * @example
 * ```ts
 * const echo = startEchoServer({ config: loadConfig({ PORT: "0" }) });
 * console.log(`ws://127.0.0.1:${echo.port}`);
 * await echo.close();
 * ```
 */
export function startEchoServer(options: EchoServerOptions): EchoServer {
  const { config } = options;
  const listener = Deno.listen({ hostname: config.host, port: config.port });
  const addr = listener.addr as Deno.NetAddr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const http = new HttpServer({
    handler: echoHandler(denoUpgrade),
    origin: `http://${host}:${addr.port}`,
    limits: {
      maxHeadBytes: config.maxHeaderBytes,
      maxBodyBytes: config.maxBodyBytes,
      requestTimeoutMs: config.requestTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      maxWsMessageBytes: options.maxMessageBytes ?? 4 * config.maxMessageBytes,
      maxWsFragments: options.maxFragments,
      wsCloseTimeoutMs: config.closeTimeoutMs,
      inbound: { held: 0, max: config.inboundBytes },
    },
    maxConnections: maxTcpConnections(config),
    maxConnectionsPerAddress: config.maxConnectionsPerIp + HTTP_CONNECTIONS_PER_IP,
    addressKey,
    idleTimeoutMs: config.idleTimeoutSeconds * 1000,
    onError: (err) => console.error(`echo: handler failed: ${err}`),
  });
  const served = http.serve(listener);
  return {
    port: addr.port,
    async close() {
      await http.close(0);
      await served;
    },
  };
}

/** What the echo server's command line says. */
export interface EchoArgs {
  /** `PORT` and `HOST` from `--port` and `--host` (they win over the environment's). */
  env: Record<string, string>;
  maxMessageBytes?: number;
  maxFragments?: number;
}

const ECHO_FLAGS = ["--port", "--host", "--max-message-bytes", "--max-fragments"];

/**
 * Reads `--port N`, `--host H`, `--max-message-bytes N` and `--max-fragments N`; throws a
 * `RangeError` naming a bad flag.
 *
 * @example
 * ```ts
 * parseEchoArgs(["--port", "9001"]); // { env: { PORT: "9001" } }
 * ```
 */
export function parseEchoArgs(args: string[]): EchoArgs {
  const out: EchoArgs = { env: {} };
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].split("=", 2);
    if (!ECHO_FLAGS.includes(name)) {
      throw new RangeError(`unknown argument "${args[i]}" (${ECHO_FLAGS.join(", ")})`);
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new RangeError(`${name} needs a value`);
    if (name === "--port") out.env.PORT = value;
    else if (name === "--host") out.env.HOST = value;
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) {
        throw new RangeError(`${name} needs a positive integer, got "${value}"`);
      }
      if (name === "--max-message-bytes") out.maxMessageBytes = n;
      else out.maxFragments = n;
    }
  }
  return out;
}

if (import.meta.main) {
  let parsed: ReturnType<typeof parseEchoArgs>;
  try {
    parsed = parseEchoArgs(Deno.args);
  } catch (err) {
    console.error(`echo: ${(err as Error).message}`);
    Deno.exit(2);
  }
  const env = { HOST: "127.0.0.1", ...Deno.env.toObject(), ...parsed.env };
  const config = loadConfigOrExit(env);
  const echo = startEchoServer({
    config,
    maxMessageBytes: parsed.maxMessageBytes,
    maxFragments: parsed.maxFragments,
  });
  console.log(`echo: Fanout's transport listening on ws://${config.host}:${echo.port}/`);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => echo.close().finally(() => Deno.exit(0)));
  }
}
