/**
 * Fakes for unit tests of the client core: a scriptable WebSocket and a manual clock whose
 * timers run only when the test advances time.
 *
 * @module
 */

import { ManualTimers } from "./manual_timers.ts";
import {
  CLIENT_EVENT_TYPES,
  type ClientEvents,
  FanoutClient,
  type FanoutClientOptions,
  type WebSocketConstructorLike,
  type WebSocketLike,
} from "../../lib/client/client.ts";
import type { ChatMessage } from "../../lib/protocol/frames.ts";

// deno-lint-ignore no-explicit-any
type Handler = ((event: any) => void) | null;

/**
 * A WebSocket the test drives: `open()`, `receive(...)`, `serverClose(code)`, `fail()`.
 *
 * @example
 * ```ts
 * const net = new FakeNetwork();
 * const client = new FanoutClient({ url: "ws://h/ws", room: "r", WebSocket: net.WebSocket });
 * client.connect();
 * net.last.open();
 * net.last.receive(welcomeFrame());
 * ```
 */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly url: string;
  readonly protocols: string | string[] | undefined;
  readonly sent: string[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  onopen: Handler = null;
  onmessage: Handler = null;
  onclose: Handler = null;
  onerror: Handler = null;

  constructor(url: string, protocols?: string | string[]) {
    this.url = url;
    this.protocols = protocols;
  }

  /** Query of the URL the client connected to. */
  get query(): URLSearchParams {
    return new URL(this.url).searchParams;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send on a socket in state ${this.readyState}`);
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    if (this.readyState < 2) this.readyState = 2;
  }

  /** Sent frames, parsed. */
  // deno-lint-ignore no-explicit-any
  frames(type?: string): any[] {
    const all = this.sent.map((s) => JSON.parse(s));
    return type === undefined ? all : all.filter((f) => f.type === type);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Delivers one text frame holding every given object as an NDJSON line. */
  receive(...frames: unknown[]): void {
    this.onmessage?.({ data: frames.map((f) => JSON.stringify(f)).join("\n") });
  }

  /** The server (or the network) closed the connection. */
  serverClose(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean: code !== 1006 });
  }

  /** The connection could not be established (e.g. refused). */
  fail(): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code: 1006, reason: "", wasClean: false });
  }

  /** Completes a close the client started. */
  finishClose(): void {
    this.readyState = 3;
    this.onclose?.({ code: this.closedWith?.code ?? 1005, reason: "", wasClean: true });
  }
}

/** Records every socket the client creates. */
export class FakeNetwork {
  readonly sockets: FakeSocket[] = [];
  readonly WebSocket: WebSocketConstructorLike;

  constructor() {
    const sockets = this.sockets;
    this.WebSocket = class extends FakeSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    };
  }

  /** The newest socket. */
  get last(): FakeSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error("the client has not created a socket yet");
    return socket;
  }
}

/**
 * The public client id the fake server's welcome gives `fakeClient` (whose private key is
 * `myclient1`): the `client` of its own messages.
 *
 * @example
 * ```ts
 * messageFrame(1, { client: MY_PUBLIC_ID }); // one of ours
 * ```
 */
export const MY_PUBLIC_ID = "myPublicId000001";

/** A welcome frame with test defaults (`client` is {@linkcode MY_PUBLIC_ID}). */
export function welcomeFrame(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "welcome",
    id: "c1",
    client: MY_PUBLIC_ID,
    room: "lobby",
    epoch: "e1",
    offset: 0,
    online: 1,
    recovered: false,
    history: [],
    limits: { maxMessageBytes: 1000, rateLimit: 20, rateBurst: 40 },
    ...overrides,
  };
}

/** A message frame with test defaults. */
export function messageFrame(offset: number, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    type: "message",
    room: "lobby",
    offset,
    id: `e1-${offset}`,
    from: "c9",
    client: "otherclient",
    name: "Bob",
    text: `m${offset}`,
    ts: 1000 + offset,
    ...overrides,
  };
}

/**
 * A `FanoutClient` wired to a fake network and clock (random fixed at 0.5), recording every
 * event it emits.
 *
 * @example
 * ```ts
 * const t = fakeClient();
 * const socket = t.goOnline();
 * t.client.send("hi");
 * socket.frames("message"); // [{ type: "message", text: "hi", ref: ... }]
 * ```
 */
export function fakeClient(options: Partial<FanoutClientOptions> = {}) {
  const net = new FakeNetwork();
  const clock = new ManualTimers();
  const client = new FanoutClient({
    url: "ws://h/ws",
    room: "lobby",
    clientId: "myclient1",
    WebSocket: net.WebSocket,
    now: clock.now,
    random: () => 0.5,
    setTimeout: clock.setTimer,
    clearTimeout: clock.clearTimer,
    ...options,
  });
  const events: { type: keyof ClientEvents; event: unknown }[] = [];
  for (const type of CLIENT_EVENT_TYPES) client.on(type, (event) => events.push({ type, event }));
  return {
    client,
    net,
    clock,
    events,
    /** Payloads of the recorded events of one type. */
    of<K extends keyof ClientEvents>(type: K): ClientEvents[K][] {
      return events.filter((e) => e.type === type).map((e) => e.event as ClientEvents[K]);
    },
    /** Connects if idle, opens the newest socket and delivers a welcome. */
    goOnline(welcome: Record<string, unknown> = {}): FakeSocket {
      client.connect();
      const socket = net.last;
      socket.open();
      socket.receive(welcomeFrame(welcome));
      return socket;
    },
  };
}
