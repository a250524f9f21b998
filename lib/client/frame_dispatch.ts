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
import type { RoomTracks } from "./room_tracks.ts";
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
  /** The rooms followed besides the main one (`client.subscribe`). */
  rooms: RoomTracks;
  /** Sends a frame on the current socket (to subscribe again after a reset). */
  transmit: (data: string) => boolean;
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
  /** The main room, from the latest welcome. */
  #room: string | null = null;
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
        // A refused subscribe (not granted, too many rooms): the room is no longer followed.
        if (
          frame.ref?.startsWith("sub:") && frame.room !== undefined &&
          frame.code !== "rate_limited" && frame.code !== "unavailable"
        ) this.#o.rooms.delete(frame.room);
        return this.#o.sender.error(frame);
      case "subscribed":
        return this.#subscribed(frame);
      case "unsubscribed":
        return this.#unsubscribed(frame);
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
    this.#room = frame.room;
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

  #subscribed(frame: Extract<ServerFrame, { type: "subscribed" }>): void {
    const { rooms, events } = this.#o;
    const position = rooms.position(frame.room);
    if (!position) return; // unsubscribed meanwhile
    const resumed = rooms.resumeSent(frame.room);
    position.welcome(frame.epoch, frame.offset);
    const { type: _type, history, ref: _ref, ...rest } = frame;
    events.emit("subscribed", { ...rest, resumed: resumed !== null });
    if (resumed && !frame.recovered) {
      const { room, epoch } = frame;
      events.emit("gap", { room, previousEpoch: resumed.epoch, epoch, since: resumed.since });
    }
    for (const message of history ?? []) this.#message(message, resumed === null);
  }

  #unsubscribed(frame: Extract<ServerFrame, { type: "unsubscribed" }>): void {
    const { rooms, events } = this.#o;
    if (!rooms.has(frame.room)) return;
    // A reset: subscribe again with since+epoch (the answer says recovered false, a gap follows).
    if (frame.reason === "reset") {
      rooms.subscribe(frame.room, this.#o.transmit);
      return;
    }
    rooms.delete(frame.room);
    const event: ClientEvents["unsubscribed"] = { room: frame.room, reason: frame.reason };
    if (frame.message !== undefined) event.message = frame.message;
    events.emit("unsubscribed", event);
  }

  #message(message: ChatMessage, freshHistory = false): void {
    // The main room's messages, or a followed room's; another room's (unsubscribed) are dropped.
    const position = message.room === this.#room || this.#room === null
      ? this.#o.position
      : this.#o.rooms.position(message.room);
    if (!position || !position.accept(message.offset)) return;
    // Our own: the public id the server gave us (our private key never appears in messages).
    const own = this.#publicId !== null && message.client === this.#publicId;
    if (!own || freshHistory) this.#o.events.emit("message", { ...message, own });
  }
}
