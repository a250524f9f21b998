/**
 * The HTTP handshake of the raw WebSocket client: writes the upgrade request (or a plain GET)
 * with any headers and subprotocols, and reads the status line, headers and, for a refusal,
 * the body.
 *
 * @module
 */

import type { ByteConn } from "./raw_ws_bytes.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Options of {@linkcode handshake}.
 *
 * @example
 * ```ts
 * const options: HandshakeOptions = { protocols: ["fanout.v1"], headers: { Origin: "x" } };
 * ```
 */
export interface HandshakeOptions {
  /** Extra request headers, written as given. */
  headers?: Record<string, string>;
  /** The `Host` header (default `127.0.0.1:<port>`), e.g. a domain name to play DNS rebinding. */
  host?: string;
  /** Sent as `Sec-WebSocket-Protocol` when not empty. */
  protocols?: string[];
  /** Send the upgrade headers (default true); false sends a plain `Connection: close` GET. */
  upgrade?: boolean;
}

/**
 * The server's answer to a handshake.
 *
 * @example
 * ```ts
 * const reply: HandshakeReply = { status: 426, headers: new Headers(), body: "upgrade" };
 * ```
 */
export interface HandshakeReply {
  status: number;
  headers: Headers;
  /** Body of a refused handshake (read up to its content-length); "" for 101. */
  body: string;
}

/**
 * Sends the request for `path` to 127.0.0.1:`port` on `bytes` and reads the reply. On a 101 the
 * connection stays open for frames; otherwise its body is read and the connection closed.
 * Throws when the server closes the connection before its reply's head.
 *
 * @example
 * ```ts
 * const reply = await handshake(bytes, port, "/ws?room=r", { protocols: ["fanout.v1"] });
 * if (reply.status === 101) await bytes.write(maskedFrame({ opcode: Op.text, payload: "hi" }));
 * ```
 */
export async function handshake(
  bytes: ByteConn,
  port: number,
  path: string,
  options: HandshakeOptions,
): Promise<HandshakeReply> {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${options.host ?? `127.0.0.1:${port}`}`];
  if (options.upgrade ?? true) {
    lines.push("Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${key}`);
    lines.push("Sec-WebSocket-Version: 13");
  } else lines.push("Connection: close");
  if (options.protocols?.length) {
    lines.push(`Sec-WebSocket-Protocol: ${options.protocols.join(", ")}`);
  }
  for (const [k, v] of Object.entries(options.headers ?? {})) lines.push(`${k}: ${v}`);
  await bytes.write(enc.encode(lines.join("\r\n") + "\r\n\r\n"));
  const head = await bytes.readHead();
  if (head === null) {
    bytes.abort();
    throw new Error(`connection closed during the handshake to ${path}`);
  }
  const [statusLine, ...headerLines] = head.split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers = new Headers();
  for (const line of headerLines) {
    const i = line.indexOf(":");
    if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
  }
  if (status === 101) return { status, headers, body: "" };
  const length = Number(headers.get("content-length") ?? "0");
  const body = (await bytes.take(length)) ?? new Uint8Array(0);
  bytes.abort();
  return { status, headers, body: dec.decode(body) };
}
