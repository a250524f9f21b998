/**
 * Frame dispatch of the client core: what each server frame (welcome, message, ack, presence,
 * pong, error, subscribed, unsubscribed) does to the session (connection id, public client id,
 * people online, round-trip time, limits, resume position, the main room) and which events it
 * emits. Messages are delivered once per `(epoch, offset)`.
 *
 * The main room is the handshake's, unless it was switched over the open connection
 * (`subscribeMain`): then it is a subscription like the followed rooms, and its `subscribed`
 * answer is reported as the `welcome` of the new main room.
 *
 * @module
 */

import type { Emitter } from "./emitter.ts";
import type { ResumePosition } from "./resume_position.ts";
import type { RoomTracks } from "./room_tracks.ts";
import type { Sender } from "./sender.ts";
import type { ClientEvents, ServerLimits } from "./types.ts";
import { subscribeFrame, subscribeRef } from "./frames.ts";
import type { ChatMessage, ServerFrame } from "../protocol/frames.ts";

type Welcome = Extract<ServerFrame, { type: "welcome" }>;

/**
 * Options of {@linkcode FrameDispatch}: where frames lead, and what a welcome (or the main room's
 * `subscribed`) calls back.
 *
 * @example
 * ```ts
 * const options: FrameDispatchOptions = {
 *   now: Date.now, events, sender, position: new ResumePosition(), rooms: new RoomTracks(),
 *   transmit: send, welcomed: () => loop.online(), refreshed: () => {},
 *   ready: (limits) => sender.attach(send, limits), holding: () => sender.detach(),
 *   mainJoined: () => sender.attach(send, limits), mainLost: () => loop.restart(),
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
  /**
   * The main room is being subscribed over the open connection (`subscribeMain`): hold its
   * messages back until `mainJoined`, so that none is sent before its room is joined.
   */
  holding(): void;
  /** The main room's `subscribed` and its history were delivered: send again. */
  mainJoined(): void;
  /**
   * The server refused the main room's `subscribe`, or ended the main room (a refreshed token no
   * longer grants it): reconnect, so that the handshake decides and reports it as for any room.
   */
  mainLost(): void;
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
  /** The main room, from the latest welcome or `subscribeMain`. */
  #room: string | null = null;
  /** While the main room's `subscribe` waits for its answer: the resume it sent. */
  #mainPending: { resume: { since: number; epoch: string } | null } | null = null;
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

  /** True while the main room's `subscribe` (`subscribeMain`) waits for its answer. */
  get holding(): boolean {
    return this.#mainPending !== null;
  }

  /** An attempt starts: remembers the resume position it sends, to judge the welcome. */
  begin(): void {
    this.#resumeSent = this.#o.position.resume;
  }

  /** The socket was let go of: no connection id until the next welcome. */
  detached(): void {
    this.#id = null;
    this.#mainPending = null;
  }

  /**
   * Makes `room` the main room over the open connection: sends its `subscribe` (resuming from
   * `options.position`) and holds its messages back until the answer. Until then, messages and
   * presence of the main room are dropped: its `subscribed` history holds every message up to
   * its position. Returns false when the frame could not be sent.
   */
  subscribeMain(room: string): boolean {
    this.#room = room;
    const resume = this.#o.position.resume;
    this.#mainPending = { resume };
    this.#o.holding();
    return this.#o.transmit(subscribeFrame(room, resume));
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
        const main = frame.room === undefined || frame.room === this.#room;
        if (!this.#joined(main ? null : frame.room!)) return;
        if (main) this.#online = frame.online;
        this.#o.events.emit("presence", presence);
        return;
      }
      case "pong":
        if (typeof frame.t !== "number") return;
        this.#rttMs = Math.max(0, this.#o.now() - frame.t);
        this.#o.events.emit("rtt", { ms: this.#rttMs });
        return;
      case "error":
        return this.#error(frame);
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
    this.#mainPending = null;
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

  #error(frame: Extract<ServerFrame, { type: "error" }>): void {
    const { code, message, ref, room } = frame;
    if (ref === undefined || room === undefined || ref !== subscribeRef(room)) {
      return this.#o.sender.error(frame);
    }
    // A refused subscribe of the main room: the handshake of a new connection decides.
    if (room === this.#room && this.#mainPending !== null) {
      this.#mainPending = null;
      return this.#o.mainLost();
    }
    // A followed room refused (not granted, too many rooms) is no longer followed.
    if (code !== "rate_limited" && code !== "unavailable") this.#o.rooms.delete(room);
    this.#o.events.emit("error", { code, message, ref, room });
  }

  #subscribed(frame: Extract<ServerFrame, { type: "subscribed" }>): void {
    const { rooms, events } = this.#o;
    if (frame.room === this.#room && this.#mainPending !== null) return this.#mainSubscribed(frame);
    const position = rooms.position(frame.room);
    if (!position) return; // unsubscribed meanwhile
    const resumed = rooms.resumeSent(frame.room);
    rooms.answered(frame.room);
    position.welcome(frame.epoch, frame.offset);
    const { type: _type, history, ref: _ref, ...rest } = frame;
    events.emit("subscribed", { ...rest, resumed: resumed !== null });
    if (resumed && !frame.recovered) {
      const { room, epoch } = frame;
      events.emit("gap", { room, previousEpoch: resumed.epoch, epoch, since: resumed.since });
    }
    for (const message of history ?? []) this.#message(message, resumed === null);
  }

  /** The answer to the main room's `subscribe`: reported as the main room's welcome. */
  #mainSubscribed(frame: Extract<ServerFrame, { type: "subscribed" }>): void {
    const { events, position } = this.#o;
    const resumed = this.#mainPending?.resume ?? null;
    this.#mainPending = null;
    position.welcome(frame.epoch, frame.offset);
    this.#online = frame.online;
    const { type: _type, history, ref: _ref, ...rest } = frame;
    const members = Array.isArray(frame.members) ? frame.members : [];
    const id = this.#id ?? "";
    events.emit("welcome", { ...rest, id, client: this.#publicId, members, resumed: !!resumed });
    if (resumed && !frame.recovered) {
      const { room, epoch } = frame;
      events.emit("gap", { room, previousEpoch: resumed.epoch, epoch, since: resumed.since });
    }
    for (const message of history ?? []) this.#message(message, resumed === null);
    this.#o.mainJoined();
  }

  #unsubscribed(frame: Extract<ServerFrame, { type: "unsubscribed" }>): void {
    const { rooms, events } = this.#o;
    // The answer to our own `unsubscribe`: the room was let go of then, and may have been
    // subscribed again since (its new subscription stays).
    if (frame.reason === "requested") return;
    if (frame.room === this.#room && !rooms.has(frame.room)) return this.#mainEnded(frame);
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

  /**
   * The server ended the main room's subscription (a connection that subscribed gets that instead
   * of a close): a reset subscribes it again from where it stands; a revoked grant (or a reset of
   * a subscribe still on its way) reconnects.
   */
  #mainEnded(frame: Extract<ServerFrame, { type: "unsubscribed" }>): void {
    if (frame.reason === "reset" && this.#mainPending === null) {
      if (!this.subscribeMain(frame.room)) this.#o.mainLost();
      return;
    }
    this.#mainPending = null;
    this.#o.mainLost();
  }

  /**
   * Whether what arrives of `room` (null: the main room) is delivered: not for a room left (what
   * was on its way when we left it), nor while the room's `subscribe` waits for its answer (what
   * arrives then is left over from an earlier subscription, and the answer's history holds it).
   */
  #joined(room: string | null): boolean {
    const rooms = this.#o.rooms;
    return room === null ? this.#mainPending === null : rooms.has(room) && !rooms.waiting(room);
  }

  #message(message: ChatMessage, freshHistory = false): void {
    const main = message.room === this.#room || this.#room === null;
    if (!this.#joined(main ? null : message.room)) return;
    const position = main ? this.#o.position : this.#o.rooms.position(message.room);
    if (!position || !position.accept(message.offset)) return;
    // Our own: the public id the server gave us (our private key never appears in messages).
    const own = this.#publicId !== null && message.client === this.#publicId;
    if (!own || freshHistory) this.#o.events.emit("message", { ...message, own });
  }
}
