/**
 * The hub's socket contract: what it needs of a WebSocket to send to it (`SocketLike`), the
 * upgraded socket whose events it wires (`UpgradedSocket`), and the upgrade that gives one to
 * `routes/ws.ts` (`Upgrade`, which the server provides). Fanout's own sockets
 * (`lib/transport/server_web_socket.ts`) and Deno's `WebSocket` satisfy both socket shapes.
 *
 * @module
 */

import type { SocketListener } from "../shared/socket_listener.ts";
import type { HandshakeRequest } from "../shared/handshake_request.ts";

/**
 * The part of a WebSocket a connection uses: its state, its buffer, sending and closing.
 * `WebSocket` satisfies it.
 *
 * @example
 * ```ts
 * const socket: SocketLike = new WebSocket("ws://localhost:8000/ws");
 * if (socket.readyState === 1) socket.send('{"type":"ping","t":1}');
 * ```
 */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  /**
   * Encodes a text frame once, to be sent to many sockets with `sendFrame` (Fanout's own sockets,
   * `lib/transport/server_web_socket.ts`): every recipient of the same frame then shares one encoding.
   */
  encodeText?(text: string): Uint8Array;
  /**
   * Encodes several text frames back to back, to be sent with `sendFrame` in one write (plain
   * mode: a turn's frames for one connection).
   */
  encodeTexts?(texts: readonly string[]): Uint8Array;
  /**
   * Encodes one text frame of `pieces` joined with newlines: strings, or UTF-8 bytes taken as they
   * are (parts of a payload many frames share).
   */
  encodeTextPieces?(pieces: readonly (string | Uint8Array)[]): Uint8Array;
  /**
   * Sends one text frame of `pieces` joined with newlines, as `encodeTextPieces` makes it, for
   * this socket alone (it may build it in a buffer it reuses once written).
   */
  sendTextPieces?(pieces: readonly (string | Uint8Array)[]): void;
  /**
   * Encodes text frames back to back with where each starts (`starts[i]`, and the end after the
   * last): plain mode's frames of a room's run, which `joinTextFrames` takes ranges of.
   */
  encodeTextsAt?(texts: readonly string[]): { bytes: Uint8Array; starts: number[] };
  /**
   * Text frames back to back from `pieces`: strings encoded as text frames, bytes (ranges of
   * `encodeTextsAt`'s) copied as they are (a plain queue holding parts of a shared run).
   */
  joinTextFrames?(pieces: readonly (string | Uint8Array)[]): Uint8Array;
  /** Sends what `joinTextFrames` makes of `pieces`, for this socket alone (like `sendTextPieces`). */
  sendJoinedTextFrames?(pieces: readonly (string | Uint8Array)[]): void;
  /** Sends what `encodeText`, `encodeTexts`, `encodeTextPieces` or `joinTextFrames` made. */
  sendFrame?(frame: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/**
 * The socket an upgrade gives: Fanout's own (`lib/transport/server_web_socket.ts`) or Deno's `WebSocket`:
 * what `Hub.attach` wires. Handler parameters are `never` so that both fit.
 *
 * @example
 * ```ts
 * const { socket, response } = Deno.upgradeWebSocket(req);
 * hub.attach(socket satisfies UpgradedSocket, handshake, true, entry);
 * ```
 */
export interface UpgradedSocket extends SocketLike {
  binaryType: string;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  /**
   * Told when the peer broke the WebSocket protocol or a size limit, before the socket closes
   * with `code` (Fanout's own sockets; Deno's have no such hook).
   */
  onfail?: ((code: number, reason: string) => void) | null;
  /**
   * Tells one listener shared by many sockets, with `target`, instead of the `on*` handlers
   * (Fanout's own sockets; the hub's socket then holds no closures of its own).
   */
  listen?<T>(listener: SocketListener<T>, target: T): void;
}

/**
 * Upgrades a request to a WebSocket: Fanout's own server for requests it read, else
 * `Deno.upgradeWebSocket` (under `deno serve`); `lib/server/deno_server.ts` provides it.
 *
 * @example
 * ```ts
 * const { socket, response } = upgrade(req, { protocol: "fanout.v1", idleTimeout: 60 });
 * hub.attach(socket, handshake, true, entry);
 * return response; // 101
 * ```
 */
export type Upgrade = (
  req: HandshakeRequest,
  options: { protocol?: string; idleTimeout?: number },
) => { socket: UpgradedSocket; response: Response };
