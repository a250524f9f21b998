/**
 * Frame dispatch of the client core: what each server frame (welcome, message, ack, presence,
 * pong, error) does to the session (connection id, public client id, people online, round-trip
 * time, limits, resume position) and which events it emits. Messages are delivered once per
 * `(epoch, offset)`.
 *
 * @module
 */

import type { Emitter } from "./emitter.ts";
import type { ResumePosition } from "./resume_position.ts";
import type { Sender } from "./sender.ts";
import type { ClientEvents, ServerLimits } from "./types.ts";
import type { ChatMessage, ServerFrame } from "../protocol/frames.ts";

type Welcome = Extract<ServerFrame, { type: "welcome" }>;

/**
 * Options of {@linkcode FrameDispatch}: where frames lead, and what a welcome calls back.
 *
 * @example
 * ```ts
 * const options: FrameDispatchOptions = {
 *   now: Date.now, events, sender, position: new ResumePosition(),
 *   welcomed: () => loop.online(), ready: (limits) => sender.attach(send, limits),
 * };
 * ```
 */
export interface FrameDispatchOptions {
  now: () => number;
  events: Emitter<ClientEvents>;
  /** Gets the acks and errors. */
  sender: Sender;
  position: ResumePosition;
  /**
   * A welcome has set the session (id, online, limits): the connection is online; `expires` is
   * when its token expires (auth mode), else null.
   */
  welcomed(expires: number | null): void;
  /** The server accepted a refreshed token, which expires at `expires`. */
  refreshed(expires: number): void;
  /** A welcome and its history were delivered: start pinging and sending. */
  ready(limits: ServerLimits): void;
}

/**
 * Applies the server's frames to the session and turns them into events.
 *
 * @example
 * ```ts
 * const dispatch = new FrameDispatch(options);
 * dispatch.begin(); // a socket opens, resuming from options.position
 * dispatch.handle({ type: "pong", t: Date.now() - 30 }); // emits `rtt` { ms: 30 }
 * dispatch.rttMs; // 30
 * ```
 */
export class FrameDispatch {
  #o: FrameDispatchOptions;
  #resumeSent: { since: number; epoch: string } | null = null;
  #id: string | null = null;
  #publicId: string | null = null;
  #online = 0;
  #rttMs: number | null = null;
  #limits: ServerLimits | null = null;

  constructor(options: FrameDispatchOptions) {
    this.#o = options;
  }

  /** Connection id from the latest welcome, null while not online. */
  get id(): string | null {
    return this.#id;
  }
  /**
   * Our public client id from the latest welcome (what the server derived from our private key;
   * messages carrying it are our own), null before the first welcome.
   */
  get publicId(): string | null {
    return this.#publicId;
  }
  /** People online in the room (from welcome and presence). */
  get online(): number {
    return this.#online;
  }
  get rttMs(): number | null {
    return this.#rttMs;
  }
  /** Limits from the latest welcome (a copy). */
  get limits(): ServerLimits | null {
    return this.#limits && { ...this.#limits };
  }

  /** An attempt starts: remembers the resume position it sends, to judge the welcome. */
  begin(): void {
    this.#resumeSent = this.#o.position.resume;
  }

  /** The socket was let go of: no connection id until the next welcome. */
  detached(): void {
    this.#id = null;
  }

  /** Applies one frame of the current socket. */
  handle(frame: ServerFrame): void {
    switch (frame.type) {
      case "welcome":
        return this.#welcome(frame);
      case "message":
        return this.#message(frame);
      case "ack":
        if (frame.ref !== null) this.#o.sender.ack(frame.ref, frame.offset, frame.ts);
        return;
      case "presence": {
        const { type: _type, ...presence } = frame;
        this.#online = frame.online;
        this.#o.events.emit("presence", presence);
        return;
      }
      case "pong":
        if (typeof frame.t !== "number") return;
        this.#rttMs = Math.max(0, this.#o.now() - frame.t);
        this.#o.events.emit("rtt", { ms: this.#rttMs });
        return;
      case "error":
        return this.#o.sender.error(frame);
      case "refreshed":
        if (typeof frame.expires !== "number") return;
        this.#o.refreshed(frame.expires);
        this.#o.events.emit("refreshed", { expires: frame.expires });
        return;
    }
  }

  #welcome(frame: Welcome): void {
    const { events, position } = this.#o;
    const resumed = this.#resumeSent;
    position.welcome(frame.epoch, frame.offset);
    this.#id = frame.id;
    this.#publicId = typeof frame.client === "string" ? frame.client : null;
    this.#online = frame.online;
    this.#limits = { ...frame.limits };
    this.#o.welcomed(typeof frame.expires === "number" ? frame.expires : null);
    const { type: _type, history, limits: _limits, ...rest } = frame;
    // A server from before member lists sends none: an empty list, never a missing one.
    const members = Array.isArray(frame.members) ? frame.members : [];
    events.emit("welcome", { ...rest, members, resumed: resumed !== null });
    if (resumed && !frame.recovered) {
      const { room, epoch } = frame;
      events.emit("gap", { room, previousEpoch: resumed.epoch, epoch, since: resumed.since });
    }
    // A fresh join's history holds our own earlier messages too (a reloaded tab shows them);
    // a resumed one leaves them out, and live copies of our own messages are echoes of acks.
    for (const message of history ?? []) this.#message(message, resumed === null);
    this.#o.ready(frame.limits);
  }

  #message(message: ChatMessage, freshHistory = false): void {
    if (!this.#o.position.accept(message.offset)) return;
    // Our own: the public id the server gave us (our private key never appears in messages).
    const own = this.#publicId !== null && message.client === this.#publicId;
    if (!own || freshHistory) this.#o.events.emit("message", { ...message, own });
  }
}
