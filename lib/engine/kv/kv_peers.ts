/**
 * The live link between the KV engines of one process's workers (`deno serve --parallel`), which
 * share one KV file: after each commit a worker posts what it committed (rooms, epochs, offsets,
 * messages, the heads' versionstamps, refs) on a channel (a `BroadcastChannel` named after the
 * KV file, passed in by the Deno adapter); the others deliver those messages to their hubs and
 * move their view of each room's head. Every `ttlMs / 3`, and 50 ms after a local change, each
 * worker also posts a summary of its presence (per room: its count, its members, the head it
 * knows), which the others keep until `ttlMs` after they last heard from it; commands (the API's
 * disconnect) travel the same way. Posts are hints: what is committed is on disk, so a worker
 * that misses one still reads it from KV (see `../room_feed.ts`).
 *
 * @module
 */

import type { ChatMessage, Member } from "../../protocol/frames.ts";
import type { EngineCommand } from "../engine.ts";
import { realTimers, type Timers } from "../../shared/timers.ts";

/** What one commit did to one room, as posted to the other workers. */
export interface CommittedRoom {
  room: string;
  epoch: string;
  /** Versionstamp of the head before the commit (null: the room was not on disk). */
  prev: string | null;
  /** Versionstamp of the head after the commit. */
  stamp: string;
  /** The head after the commit: newest offset, oldest kept, bytes kept, time of the commit. */
  offset: number;
  oldest: number;
  bytes: number;
  ts: number;
  /** Body bytes of the messages added and kept, oldest first (the newest of `messages`). */
  kept: number[];
  /** The messages added, in offset order. */
  messages: ChatMessage[];
  /** The refs accepted: key, offset, ts and the content's hash. */
  refs: [key: string, offset: number, ts: number, hash: number][];
}

/** One worker's presence in one room, as summarised for the others. */
export interface RoomSummary {
  room: string;
  count: number;
  /** Its members there, at most {@linkcode MEMBERS_PER_SUMMARY}. */
  members: Member[];
  /** The room's head as this worker knows it (null: not held). */
  epoch: string | null;
  offset: number;
}

/** What workers post to each other. */
export type PeerPost =
  | { kind: "commit"; from: string; rooms: CommittedRoom[] }
  | { kind: "presence"; from: string; rooms: RoomSummary[] }
  | { kind: "hello"; from: string }
  | { kind: "gone"; from: string }
  | { kind: "command"; from: string; command: EngineCommand };

/**
 * A channel to the other workers of the process: what is posted reaches every other listener,
 * in the order one sender posted it, never the sender itself (a `BroadcastChannel` wrapped).
 *
 * @example
 * ```ts
 * const bc = new BroadcastChannel("fanout-kv:/srv/data/fanout.sqlite3");
 * const channel: PeerChannel = {
 *   post: (m) => bc.postMessage(m),
 *   listen: (receive) => bc.onmessage = (e) => receive(e.data),
 *   close: () => bc.close(),
 * };
 * ```
 */
export interface PeerChannel {
  post(message: PeerPost): void;
  listen(receive: (message: unknown) => void): void;
  close(): void;
}

/** Members one worker lists per room in a summary (the rest are counted, not named). */
export const MEMBERS_PER_SUMMARY = 1000;

/** Options of {@linkcode KvPeers}. */
export interface KvPeersOptions {
  channel: PeerChannel;
  /** Names this worker in its posts. */
  workerId: string;
  /** How long a worker's presence counts without a summary, in ms (tick: a third of it). */
  ttlMs: number;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  timers?: Timers;
  /** Another worker committed. */
  onCommit(rooms: CommittedRoom[]): void;
  /** Another worker's summary says `room`'s head is at `epoch`, `offset`. */
  onPosition(room: string, epoch: string, offset: number): void;
  /** The other workers' count of `room` changed. */
  onPresence(room: string): void;
  /** Another worker sent a command. */
  onCommand(command: EngineCommand): void;
  /** The head this worker knows of a room it has members in (for its summaries). */
  position(room: string): { epoch: string; offset: number } | null;
}

/** What this worker knows of another. */
interface Worker {
  until: number;
  rooms: Map<string, RoomSummary>;
}

/** Delay of a summary after a local change (changes within it go in one post). */
const CHANGE_DELAY_MS = 50;

/**
 * This worker's end of the link: posts its commits, presence and commands, and keeps what the
 * others said.
 *
 * @example
 * ```ts
 * const peers = new KvPeers({ channel, workerId: "w1", ttlMs: 6000, onCommit, onPosition,
 *   onPresence, onCommand, position });
 * peers.start();
 * peers.setLocal("lobby", 3);
 * peers.online("lobby", 3); // 3 + the other workers' count
 * ```
 */
export class KvPeers {
  readonly workerId: string;
  #o: KvPeersOptions & { now: () => number; timers: Timers };
  #workers = new Map<string, Worker>();
  #local = new Map<string, number>();
  #members = new Map<string, Map<string, Member>>();
  #tick: unknown = null;
  #soon: unknown = null;
  #closed = false;

  constructor(options: KvPeersOptions) {
    this.#o = { ...options, now: options.now ?? Date.now, timers: options.timers ?? realTimers };
    this.workerId = options.workerId;
  }

  /** Listens, asks the others for their presence, and starts the periodic summaries. */
  start(): void {
    this.#o.channel.listen((message) => this.#receive(message));
    this.#post({ kind: "hello", from: this.workerId });
    this.#schedule();
  }

  /** Tells the others what a commit of this worker did (when another worker was heard from). */
  committed(rooms: CommittedRoom[]): void {
    // Alone (one process, or no other worker heard from yet): nobody to copy the messages for;
    // a worker that starts later reads the room from KV.
    if (rooms.length === 0 || this.#workers.size === 0) return;
    this.#post({ kind: "commit", from: this.workerId, rooms });
  }

  /** Tells the others to carry out `command`. */
  command(command: EngineCommand): void {
    this.#post({ kind: "command", from: this.workerId, command });
  }

  /** This worker's count in `room` (0: it left). */
  setLocal(room: string, count: number): void {
    if (count > 0) {
      if (this.#local.get(room) === count) return;
      this.#local.set(room, count);
    } else {
      const had = this.#local.delete(room);
      if (!this.#members.delete(room) && !had) return;
    }
    this.#changed();
  }

  /** This worker's counts of every room it has connections in. */
  replaceLocal(counts: Map<string, number>): void {
    for (const room of [...this.#local.keys()]) if (!counts.has(room)) this.setLocal(room, 0);
    for (const [room, count] of counts) this.setLocal(room, count);
  }

  memberJoined(room: string, member: Member): void {
    let members = this.#members.get(room);
    if (!members) this.#members.set(room, members = new Map());
    members.set(member.id, member);
    this.#changed();
  }

  memberLeft(room: string, id: string): void {
    const members = this.#members.get(room);
    if (!members?.delete(id)) return;
    if (members.size === 0) this.#members.delete(room);
    this.#changed();
  }

  /** Connections online in `room` in every worker, given this worker's `local` count. */
  online(room: string, local: number): number {
    let n = local;
    for (const worker of this.#workers.values()) n += worker.rooms.get(room)?.count ?? 0;
    return n;
  }

  /** Up to `limit` members of `room` in the other workers. */
  remoteMembers(room: string, limit: number): Member[] {
    const out: Member[] = [];
    for (const worker of this.#workers.values()) {
      for (const member of worker.rooms.get(room)?.members ?? []) {
        if (out.length >= limit) return out;
        out.push(member);
      }
    }
    return out;
  }

  /** Whether another worker has connections in `room` (its disk must stay). */
  hasRemote(room: string): boolean {
    for (const worker of this.#workers.values()) if (worker.rooms.has(room)) return true;
    return false;
  }

  /** Tells the others this worker is gone and stops. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#post({ kind: "gone", from: this.workerId });
    this.#o.timers.clearTimer(this.#tick);
    this.#o.timers.clearTimer(this.#soon);
    this.#o.channel.close();
    this.#workers.clear();
  }

  #post(post: PeerPost): void {
    if (this.#closed && post.kind !== "gone") return;
    this.#o.channel.post(post);
  }

  #changed(): void {
    if (this.#soon !== null || this.#closed) return;
    this.#soon = this.#o.timers.setTimer(() => {
      this.#soon = null;
      this.#summarise();
    }, CHANGE_DELAY_MS);
  }

  #schedule(): void {
    this.#tick = this.#o.timers.setTimer(() => {
      if (this.#closed) return;
      this.#expire();
      this.#summarise();
      this.#schedule();
    }, Math.max(100, Math.floor(this.#o.ttlMs / 3)));
  }

  #summarise(): void {
    const rooms: RoomSummary[] = [];
    for (const room of new Set([...this.#local.keys(), ...this.#members.keys()])) {
      const all = this.#members.get(room);
      // Members are connections: the count is at least theirs (a count not yet reported).
      const count = Math.max(this.#local.get(room) ?? 0, all?.size ?? 0);
      const members: Member[] = [];
      for (const member of all?.values() ?? []) {
        if (members.length >= MEMBERS_PER_SUMMARY) break;
        members.push(member);
      }
      const head = this.#o.position(room);
      rooms.push({ room, count, members, epoch: head?.epoch ?? null, offset: head?.offset ?? 0 });
    }
    this.#post({ kind: "presence", from: this.workerId, rooms });
  }

  #expire(): void {
    const now = this.#o.now();
    for (const [id, worker] of this.#workers) if (worker.until < now) this.#forget(id);
  }

  #forget(id: string): void {
    const worker = this.#workers.get(id);
    if (!worker) return;
    this.#workers.delete(id);
    for (const room of worker.rooms.keys()) this.#o.onPresence(room);
  }

  #receive(message: unknown): void {
    if (this.#closed || typeof message !== "object" || message === null) return;
    const post = message as PeerPost;
    if (typeof post.from !== "string" || post.from === this.workerId) return;
    switch (post.kind) {
      case "commit":
        this.#o.onCommit(post.rooms);
        return;
      case "presence":
        return this.#presence(post.from, post.rooms);
      case "hello":
        // A worker that just started: known from now on, and told this one's presence.
        if (!this.#workers.has(post.from)) {
          this.#workers.set(post.from, { until: this.#o.now() + this.#o.ttlMs, rooms: new Map() });
        }
        return this.#changed();
      case "gone":
        return this.#forget(post.from);
      case "command":
        this.#o.onCommand(post.command);
        return;
    }
  }

  #presence(from: string, rooms: RoomSummary[]): void {
    const before = this.#workers.get(from)?.rooms ?? new Map<string, RoomSummary>();
    const after = new Map(rooms.map((r) => [r.room, r]));
    this.#workers.set(from, { until: this.#o.now() + this.#o.ttlMs, rooms: after });
    for (const [room, summary] of after) {
      if (before.get(room)?.count !== summary.count) this.#o.onPresence(room);
      if (summary.epoch !== null) this.#o.onPosition(room, summary.epoch, summary.offset);
    }
    for (const room of before.keys()) if (!after.has(room)) this.#o.onPresence(room);
  }
}
