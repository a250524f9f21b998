/**
 * The KV engine: rooms kept in Deno KV (SQLite on disk), so that a restart, `kill -9` included,
 * keeps each room's epoch, offset, history and the refs of its recent messages. One process
 * writes: publishes queue up and are committed together, one atomic operation per turn (or more
 * when a batch outgrows KV's limits), each checking the heads of its rooms; a message is emitted
 * and acknowledged only once its commit is durable. Presence and members stay in memory, as in
 * the memory engine; workers of one process on one file (`deno serve --parallel`) share live
 * messages, presence and commands through a channel (`peers`, see `kv_peers.ts`). See
 * `docs/SCALING.md`.
 *
 * @module
 */

import { DedupCache, refKey, RefLedger } from "../dedup_cache.ts";
import { LocalMembers } from "../local_members.ts";
import type {
  Draft,
  Engine,
  EngineCommand,
  EngineEvents,
  PublishResult,
  Recovery,
  RoomMembers,
  RoomPosition,
} from "../engine.ts";
import { dedupeContent, epochOf, messageOf } from "../engine.ts";
import type { ChatMessage, Member } from "../../protocol/frames.ts";
import { randomToken } from "../../shared/ids.ts";
import { textHash } from "../../shared/text_hash.ts";
import type { Logger } from "../../shared/log.ts";
import { KV_LIMITS, type KvHandle, lockPatient } from "./kv_handle.ts";
import {
  decodeChunks,
  encodeBody,
  type KvHead,
  kvKeys,
  type KvRef,
  partsOf,
} from "./kv_messages.ts";
import { KvRoom, RoomPlan } from "./kv_room.ts";
import { RoomFeed } from "../room_feed.ts";
import { type CommittedRoom, KvPeers, type PeerChannel } from "./kv_peers.ts";
import type { Timers } from "../../shared/timers.ts";
import { KvTail } from "./kv_tail.ts";
import { type DiskRef, KvDiskRefs } from "./kv_disk_refs.ts";

/** Options of {@linkcode KvEngine}. */
export interface KvEngineOptions {
  /** The KV handle, or what opens it (called by `start`). The engine closes it. */
  kv: KvHandle | (() => Promise<KvHandle>);
  historySize: number;
  dedupTtlMs: number;
  /**
   * Refs every room together may remember in memory (default: no bound); past it the oldest go
   * first (refs on disk, kept for `dedupTtlMs`, still answer while the room's were recent).
   */
  maxRefs?: number;
  /**
   * Refs kept on disk at most, every room and worker together (default: no bound); past it the
   * oldest are deleted, down to 90 % of it, before the next commit.
   */
  maxDiskRefs?: number;
  /** How long a room without connections keeps its history, also on disk. */
  roomTtlMs: number;
  /** Bytes of message bodies every room may keep on disk together (default: no bound). */
  historyBytes?: number;
  /** Bytes of message bodies one room may keep (default: no bound). */
  roomHistoryBytes?: number;
  /** Rooms held in memory at once (default: no bound); idle ones make way, their disk stays. */
  maxRooms?: number;
  /**
   * Rooms kept on disk at once (default: no bound): past it the least recently used rooms
   * without members are removed whole, so that new room names cannot grow the disk and the
   * engine's list of rooms on disk without end. Keep it at least `maxRooms`.
   */
  maxDiskRooms?: number;
  /**
   * Most bytes of message bodies a join reads for its welcome (default: no bound); a resume gap
   * larger than that is answered like a lost one, and the recent history stops there.
   */
  historyReadBytes?: number;
  /**
   * Bytes of recent messages kept decoded in memory for welcomes, every room together (default
   * 0: none; each room keeps at most `historyReadBytes`).
   */
  tailBytes?: number;
  /** Clock in epoch ms (default `Date.now`). */
  now?: () => number;
  /** Makes a new epoch (default: 10 random characters). */
  newEpoch?: () => string;
  /**
   * Runs the next commit after this event-loop turn (default `setImmediate`, as the hub's
   * flushes: every publish read in that turn shares the commit; `setTimeout(fn, 0)` cost about
   * 2.6 ms per commit, measured).
   */
  defer?: (fn: () => void) => void;
  logger?: Logger;
  /**
   * The channel to the other workers of this process on the same file (the Deno adapter: a
   * `BroadcastChannel` named after `KV_PATH`); without it the engine serves one process.
   */
  peers?: PeerChannel;
  /** Names this worker to the others (default: random). */
  workerId?: string;
  /** How long another worker's presence counts without news, in ms (default 6000). */
  presenceTtlMs?: number;
  /** Timers of the presence summaries (default: the runtime's). */
  timers?: Timers;
  /**
   * Waits before an operation that met another worker's SQLite lock is tried again (default 1
   * ms: about 200 ms in all before it fails).
   */
  lockWait?: () => Promise<void>;
}

/** A publish waiting for its commit. */
interface Pending {
  draft: Draft;
  ts: number;
  resolve(result: PublishResult): void;
  reject(err: unknown): void;
}

/** What the engine knows of every room on disk: its bytes and its last use. */
interface DiskRoom {
  bytes: number;
  touched: number;
}

/** The options of the link to other workers. */
type PeerOption = "peers" | "workerId" | "presenceTtlMs" | "timers" | "lockWait";

/** Share of the disk budget freed at once when it is exceeded (so that reclaims are rare). */
const RECLAIM_TO = 0.9;
/** Commits retried when a room's head changed under them before the publishes fail. */
const RETRIES = 20;

/**
 * Keeps rooms in Deno KV.
 *
 * @example
 * ```ts
 * const engine = new KvEngine({ kv: await Deno.openKv(":memory:"), historySize: 100,
 *   dedupTtlMs: 60_000, roomTtlMs: 60_000 });
 * await engine.start({ message: (m) => console.log(m.offset) });
 * await engine.publish({ room: "lobby", from: "c1", client: null, name: null, text: "hi", ref: null });
 * ```
 */
export class KvEngine implements Engine {
  readonly name = "kv";
  #o: Required<Omit<KvEngineOptions, "logger" | "kv" | PeerOption>> & { logger?: Logger };
  #peerOptions: Pick<KvEngineOptions, PeerOption>;
  /** The link to the other workers, when there is a channel. */
  #peers: KvPeers | null = null;
  /** Ordered delivery of each joined room (with peers only). */
  #feeds = new Map<string, RoomFeed>();
  #open: () => Promise<KvHandle>;
  #kv: KvHandle | null = null;
  #events: EngineEvents = { message: () => {} };
  /** Rooms held in memory. */
  #rooms = new Map<string, KvRoom>();
  /** Held rooms without members, the longest idle first. */
  #idle = new Map<string, KvRoom>();
  #loading = new Map<string, Promise<KvRoom>>();
  /** Rooms being removed from disk, until the removal ends (joins and publishes wait for it). */
  #removing = new Map<string, Promise<void>>();
  /** Joins waiting for their room to be read: it must not make way for another meanwhile. */
  #claims = new Map<string, number>();
  #tail: KvTail;
  /** Reads of history in flight, shared by joins that want the same messages. */
  #reads = new Map<string, Promise<ChatMessage[]>>();
  /** Every room on disk, the least recently used first. */
  #disk = new Map<string, DiskRoom>();
  #diskBytes = 0;
  #members = new LocalMembers();
  /**
   * Connections joined per room as the hub counts them, changed at once by `join` and `leave`
   * (a held room's `members` follows it once read): a leave that comes while its room is still
   * being read is not lost.
   */
  #joined = new Map<string, number>();
  #queue: Pending[] = [];
  #jobs: (() => Promise<void>)[] = [];
  #running: Promise<void> | null = null;
  #reclaiming = false;
  #shrinking = false;
  #startedAt = 0;
  #closed = false;
  /** The refs of every room in memory: their order and their bound. */
  #refs: RefLedger;
  /** The refs on disk: their count and their bound. */
  #storedRefs: KvDiskRefs;
  #trimmingRefs = false;

  constructor(options: KvEngineOptions) {
    const { kv, peers, workerId, presenceTtlMs, timers, lockWait, ...rest } = options;
    this.#peerOptions = { peers, workerId, presenceTtlMs, timers, lockWait };
    this.#open = typeof kv === "function" ? kv : () => Promise.resolve(kv);
    this.#o = {
      ...rest,
      now: rest.now ?? Date.now,
      newEpoch: rest.newEpoch ?? (() => randomToken(10)),
      historyBytes: rest.historyBytes ?? Infinity,
      roomHistoryBytes: rest.roomHistoryBytes ?? Infinity,
      maxRooms: rest.maxRooms ?? Infinity,
      maxRefs: rest.maxRefs ?? Infinity,
      maxDiskRefs: rest.maxDiskRefs ?? Infinity,
      maxDiskRooms: rest.maxDiskRooms ?? Infinity,
      historyReadBytes: rest.historyReadBytes ?? Infinity,
      tailBytes: rest.tailBytes ?? 0,
      defer: rest.defer ?? setImmediate,
    };
    this.#refs = new RefLedger(this.#o.dedupTtlMs, this.#o.maxRefs);
    this.#storedRefs = new KvDiskRefs(this.#o.maxDiskRefs, this.#o.dedupTtlMs, randomToken(10));
    this.#tail = new KvTail({
      budget: this.#o.tailBytes,
      perRoom: this.#o.historyReadBytes,
      maxCount: this.#o.historySize,
    });
  }

  get healthy(): boolean {
    return this.#kv !== null && !this.#closed;
  }

  /** Bytes of message bodies kept on disk, every room together. */
  get diskBytes(): number {
    return this.#diskBytes;
  }

  /** Rooms kept on disk (at most `maxDiskRooms`, but for a moment while some are removed). */
  get diskRooms(): number {
    return this.#disk.size;
  }

  /** Refs remembered in memory, every room together, and those forgotten early for `maxRefs`. */
  get refs(): { held: number; forgotten: number } {
    return { held: this.#refs.size, forgotten: this.#refs.forgotten };
  }

  /**
   * Refs on disk, every room and worker together, as last known (against `maxDiskRefs`), and
   * those this engine deleted before their TTL because of that bound.
   */
  get diskRefs(): { held: number; forgotten: number } {
    return { held: this.#storedRefs.held, forgotten: this.#storedRefs.forgotten };
  }

  get #store(): KvHandle {
    if (!this.#kv) throw new Error("the KV engine is not started");
    return this.#kv;
  }

  /** Opens the store and reads every room's head (their bytes and last use). */
  async start(events: EngineEvents): Promise<void> {
    this.#events = events;
    // Other workers' handles on the same file take SQLite's lock now and then: wait for it.
    this.#kv = lockPatient(
      await this.#open(),
      this.#peerOptions.lockWait ?? (() => new Promise<void>((resolve) => setTimeout(resolve, 1))),
    );
    this.#startedAt = this.#o.now();
    const heads: [string, KvHead][] = [];
    for await (
      const entry of this.#kv.list<KvHead>({ prefix: kvKeys.heads }, { batchSize: 1000 })
    ) {
      heads.push([entry.key[1] as string, entry.value]);
    }
    heads.sort((a, b) => a[1].ts - b[1].ts);
    for (const [room, head] of heads) {
      this.#disk.set(room, { bytes: head.bytes, touched: head.ts });
      this.#diskBytes += head.bytes;
    }
    if (this.#diskBytes > this.#o.historyBytes) this.#schedule(() => this.#reclaim());
    await this.#storedRefs.read(this.#kv);
    const { peers, workerId, presenceTtlMs, timers } = this.#peerOptions;
    if (peers) {
      this.#peers = new KvPeers({
        channel: peers,
        workerId: workerId ?? randomToken(12),
        ttlMs: presenceTtlMs ?? 6000,
        now: this.#o.now,
        timers,
        onCommit: (rooms) => this.#follow(rooms),
        onPosition: (room, epoch, offset) => {
          const feed = this.#feeds.get(room);
          const at = feed?.position;
          if (at && (at.epoch !== epoch || at.last < offset)) feed!.catchUp();
        },
        onPresence: (room) => this.#events.presence?.(room),
        onCommand: (command) => this.#events.command?.(command),
        position: (room) => this.position(room),
      });
      this.#peers.start();
    }
    this.#shrinkLater();
  }

  // --- rooms held in memory ---

  /** The held room, read from disk (or created there) on first use. */
  #room(name: string): Promise<KvRoom> {
    // A room being removed is read again once the removal is over (a new epoch, or what stayed).
    const removing = this.#removing.get(name);
    if (removing) {
      const again = () => this.#room(name);
      return removing.then(again, again);
    }
    const held = this.#rooms.get(name);
    if (held) return Promise.resolve(held);
    let loading = this.#loading.get(name);
    if (!loading) {
      loading = this.#load(name).finally(() => this.#loading.delete(name));
      this.#loading.set(name, loading);
    }
    return loading;
  }

  async #load(name: string): Promise<KvRoom> {
    const kv = this.#store;
    const now = this.#o.now();
    let room: KvRoom;
    for (let attempt = 0;; attempt++) {
      const head = await kv.get<KvHead>(kvKeys.head(name));
      if (head.value !== null) {
        room = await this.#read(name, head.value, head.versionstamp);
        // Every ref on disk was written by a commit that also wrote the head, at its `ts`.
        room.refsOnDiskUntil = head.value.ts + this.#o.dedupTtlMs;
        break;
      }
      const fresh: KvHead = { epoch: this.#o.newEpoch(), offset: 0, oldest: 1, bytes: 0, ts: now };
      const made = await kv.atomic().check({ key: kvKeys.head(name), versionstamp: null })
        .set(kvKeys.head(name), fresh).commit();
      if (made.ok) {
        room = new KvRoom(name, fresh, made.versionstamp, []);
        break;
      }
      if (attempt >= RETRIES) throw new Error(`kv: room ${name} keeps changing while read`);
    }
    room.idleSince = now;
    if (this.#rooms.size >= this.#o.maxRooms) {
      const oldest = this.#evictable();
      if (oldest) this.#unload(oldest);
    }
    this.#rooms.set(name, room);
    this.#idle.set(name, room);
    this.#touch(name, room.bytes, Math.max(now, this.#disk.get(name)?.touched ?? 0));
    return room;
  }

  /** A room from its head and the sizes of its kept messages (what is on disk wins). */
  async #read(name: string, head: KvHead, stamp: string | null): Promise<KvRoom> {
    const sizes: number[] = [];
    let oldest = head.offset + 1;
    let last = -1;
    for await (
      const entry of this.#store.list<Uint8Array>({
        start: kvKeys.from(name, head.oldest),
        end: kvKeys.from(name, head.offset + 1),
      }, { batchSize: 500 })
    ) {
      const offset = entry.key[2] as number;
      if (offset !== last) {
        if (sizes.length === 0) oldest = offset;
        // A gap (an interrupted trim): only the newest run is history.
        if (last !== -1 && offset !== last + 1) {
          sizes.length = 0;
          oldest = offset;
        }
        sizes.push(0);
        last = offset;
      }
      sizes[sizes.length - 1] += entry.value.length;
    }
    if (last !== head.offset) {
      sizes.length = 0;
      oldest = head.offset + 1;
    }
    const bytes = sizes.reduce((n, b) => n + b, 0);
    return new KvRoom(name, { ...head, oldest, bytes }, stamp, sizes);
  }

  /**
   * Reads a held room again from disk (its head moved under it), keeping its members; when its
   * epoch changed (it was removed and made again), members welcomed in the old one are told.
   */
  async #reread(room: KvRoom): Promise<void> {
    this.#unload(room);
    const fresh = await this.#room(room.name);
    // Its members are the hub's now (joins and leaves may have come during the read).
    fresh.members = this.#joined.get(room.name) ?? 0;
    fresh.idleSince = room.idleSince;
    if (fresh.members > 0) this.#idle.delete(room.name);
    if (fresh.epoch === room.epoch) fresh.refs = room.refs;
    else {
      // The room's feed follows the new epoch from its head (members welcomed in it get what
      // comes next), and members welcomed in the old one are told.
      this.#feeds.get(room.name)?.start(fresh.epoch, fresh.offset);
      if (fresh.members > 0) this.#events.reset?.(room.name, fresh.epoch);
    }
  }

  /**
   * Brings a held room's view up to its head on disk after a failed check: when the head only
   * moved on in the same epoch (another worker's commits), reads the head and the sizes of the
   * new messages alone; otherwise reads the room again ({@linkcode KvEngine.#reread}).
   */
  async #refresh(room: KvRoom): Promise<void> {
    const head = await this.#store.get<KvHead>(kvKeys.head(room.name));
    if (head.versionstamp === room.stamp) return; // followed another worker's post meanwhile
    const now = head.value;
    if (!now || now.epoch !== room.epoch || now.offset < room.offset) return this.#reread(room);
    const from = Math.max(room.offset + 1, now.oldest);
    const sizes = new Map<number, number>();
    for await (
      const entry of this.#store.list<Uint8Array>({
        start: kvKeys.from(room.name, from),
        end: kvKeys.from(room.name, now.offset + 1),
      }, { batchSize: 500 })
    ) {
      const offset = entry.key[2] as number;
      sizes.set(offset, (sizes.get(offset) ?? 0) + entry.value.length);
    }
    const kept: number[] = [];
    for (let offset = from; offset <= now.offset; offset++) {
      const bytes = sizes.get(offset);
      if (bytes === undefined) return this.#reread(room); // trimmed meanwhile: read it whole
      kept.push(bytes);
    }
    room.follow(now, kept, head.versionstamp!);
    room.refsOnDiskUntil = Math.max(room.refsOnDiskUntil, now.ts + this.#o.dedupTtlMs);
    this.#touch(room.name, room.bytes, now.ts);
  }

  /** The longest idle held room that no join is waiting for, if any. */
  #evictable(): KvRoom | undefined {
    for (const room of this.#idle.values()) if (!this.#claims.has(room.name)) return room;
    return undefined;
  }

  /** Forgets a held room (its disk stays). */
  #unload(room: KvRoom): void {
    this.#rooms.delete(room.name);
    this.#idle.delete(room.name);
    this.#tail.forget(room.name);
  }

  /** Notes that `name` holds `bytes` on disk and was used at `at`. */
  #touch(name: string, bytes: number, at: number): void {
    const known = this.#disk.get(name);
    this.#diskBytes += bytes - (known?.bytes ?? 0);
    this.#disk.delete(name);
    this.#disk.set(name, { bytes, touched: at });
    if (!known) this.#shrinkLater();
  }

  // --- the writer: commits and housekeeping, one at a time ---

  #schedule(job: () => Promise<void>): void {
    this.#jobs.push(job);
    this.#kick();
  }

  #kick(): void {
    if (this.#running) return;
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#running = promise;
    this.#o.defer(() => {
      this.#drain().catch((err) => {
        this.#o.logger?.warn("kv.drain_failed", { error: String(err) });
      }).finally(() => {
        this.#running = null;
        resolve();
        if (this.#queue.length > 0 || this.#jobs.length > 0) this.#kick();
      });
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#jobs.length > 0) {
      if (this.#queue.length > 0) {
        // Over the bound of refs on disk, no commit adds more before a trim.
        if (this.#storedRefs.over) await this.#trimRefsNow();
        try {
          await this.#commitSome();
        } catch (err) {
          // A read before the commit failed (refs on disk, a room): its publishes fail, the
          // server goes on.
          this.#fail(this.#queue.splice(0, this.#queue.length), err);
        }
        continue;
      }
      try {
        await this.#jobs.shift()!();
      } catch (err) {
        this.#o.logger?.warn("kv.housekeeping_failed", { error: String(err) });
      }
    }
  }

  /** Resolves once the writer has committed what is queued and run the housekeeping due. */
  async settled(): Promise<void> {
    while (this.#running) await this.#running;
  }

  publish(draft: Draft): Promise<PublishResult> {
    if (this.#closed) return Promise.reject(new Error("the KV engine is closed"));
    const { promise, resolve, reject } = Promise.withResolvers<PublishResult>();
    this.#queue.push({ draft, ts: this.#o.now(), resolve, reject });
    this.#kick();
    return promise;
  }

  /**
   * Commits the queue's first publishes, as many as one atomic operation holds: offsets follow
   * each room's committed head, the commit checks every head it moves, and only once it is
   * durable are the messages emitted and the publishes resolved.
   */
  async #commitSome(): Promise<void> {
    const rooms = new Set<string>();
    for (const p of this.#queue) {
      if (rooms.size >= KV_LIMITS.checks && !rooms.has(p.draft.room)) break;
      rooms.add(p.draft.room);
    }
    for (let attempt = 0;; attempt++) {
      let loaded: Map<string, KvRoom>;
      try {
        loaded = new Map(
          await Promise.all([...rooms].map(async (n) => [n, await this.#room(n)] as const)),
        );
      } catch (err) {
        this.#fail(this.#queue.splice(0, this.#queue.length), err);
        return;
      }
      const outcome = await this.#tryCommit(loaded);
      if (outcome !== "changed") return;
      // Another writer moved a head (or a room was removed while read): read them again.
      try {
        for (const room of loaded.values()) await this.#refresh(room);
      } catch (err) {
        this.#fail(this.#queue.splice(0, this.#queue.length), err);
        return;
      }
      if (attempt >= RETRIES) {
        this.#fail(this.#queue.splice(0, this.#queue.length), new Error("kv: rooms keep changing"));
        return;
      }
    }
  }

  async #tryCommit(loaded: Map<string, KvRoom>): Promise<"done" | "changed"> {
    const kv = this.#store;
    const now = this.#o.now();
    const { historySize, dedupTtlMs, roomHistoryBytes } = this.#o;
    // Refs accepted before this process read the room are only on disk: read those that may
    // still be live first. Publishes queued during that read wait for the next commit: their refs
    // were not read.
    const considered = this.#queue.length;
    const seenOnDisk = await this.#diskRefs(loaded, now);
    const plans = new Map<string, RoomPlan>();
    const inBatch = new Map<string, { planned: ChatMessage; hash: number }>();
    const results: { pending: Pending; result: PublishResult | Error; planned?: ChatMessage }[] =
      [];
    const refCosts = this.#storedRefs.costs();
    let taken = 0;
    for (const pending of this.#queue) {
      if (taken >= considered) break;
      const { draft, ts } = pending;
      const room = loaded.get(draft.room);
      if (!room) break;
      const key = draft.ref === null ? null : refKey(draft.client, draft.from, draft.ref);
      const hash = key === null ? 0 : textHash(dedupeContent(draft));
      if (key !== null) {
        const id = `${draft.room}\u0000${key}`;
        const earlier = inBatch.get(id);
        const seen = room.refs?.get(key, now) ?? seenOnDisk.get(id);
        if (earlier) {
          results.push({
            pending,
            result: earlier.hash === hash
              ? { status: "duplicate", offset: earlier.planned.offset, ts: earlier.planned.ts }
              : { status: "conflict" },
          });
          taken++;
          continue;
        }
        if (seen) {
          results.push({
            pending,
            result: seen.hash === hash
              ? { status: "duplicate", offset: seen.offset, ts: seen.ts }
              : { status: "conflict" },
          });
          taken++;
          continue;
        }
      }
      let plan = plans.get(draft.room);
      const isNew = !plan;
      plan ??= new RoomPlan(room, historySize, roomHistoryBytes);
      const before = plan.snapshot();
      const { chunks, bytes } = encodeBody(draft, ts);
      const message = messageOf(draft.room, room.epoch, plan.nextOffset, ts, draft);
      plan.add({ message, chunks, bytes });
      const withRef = key !== null && dedupTtlMs > 0;
      const refCost = withRef ? this.#storedRefs.cost(draft.room, key) : null;
      const withRefs = refCosts.with(refCost);
      const all = isNew ? [...plans.values(), plan] : [...plans.values()];
      const mutations = all.reduce((n, p) => n + p.mutations + 1, 0) + withRefs.mutations;
      const size = all.reduce((n, p) => n + p.writeBytes + p.headBytes, 0) + withRefs.bytes;
      const setKeys = all.reduce((n, p) => n + p.setKeyBytes, 0) + withRefs.setKeys;
      if (
        mutations > KV_LIMITS.mutations || size > KV_LIMITS.bytes || setKeys > KV_LIMITS.setKeys
      ) {
        plan.restore(before);
        if (taken > 0) break;
        // Alone it is too large for one atomic operation: refused, the queue goes on.
        results.push({
          pending,
          result: new Error(`kv: a message of ${bytes} bytes is too large for one KV commit`),
        });
        taken++;
        break;
      }
      if (isNew) plans.set(draft.room, plan);
      if (refCost) refCosts.add(refCost);
      if (key !== null) inBatch.set(`${draft.room}\u0000${key}`, { planned: message, hash });
      results.push({ pending, result: { status: "accepted", message }, planned: message });
      taken++;
    }
    const posts: CommittedRoom[] = [];
    if (plans.size > 0) {
      const atomic = kv.atomic();
      for (const plan of plans.values()) plan.write(atomic, now);
      const refs: DiskRef[] = [];
      for (const { pending, planned } of results) {
        const { draft } = pending;
        if (!planned || draft.ref === null || dedupTtlMs <= 0) continue;
        const key = refKey(draft.client, draft.from, draft.ref);
        const hash = inBatch.get(`${draft.room}\u0000${key}`)!.hash;
        refs.push({
          room: draft.room,
          key,
          record: { offset: planned.offset, ts: planned.ts, hash, at: now },
        });
      }
      this.#storedRefs.write(atomic, refs);
      let committed;
      try {
        committed = await atomic.commit();
      } catch (err) {
        this.#fail(this.#queue.splice(0, taken), err);
        return "done";
      }
      if (!committed.ok) return "changed";
      this.#storedRefs.wrote(refs.length);
      if (this.#storedRefs.over) this.#trimRefsLater();
      for (const plan of plans.values()) {
        const prev = plan.room.stamp;
        plan.room.apply(plan, committed.versionstamp);
        this.#touch(plan.room.name, plan.room.bytes, now);
        if (this.#peers) posts.push(committedRoom(plan, prev, now));
      }
    }
    this.#queue.splice(0, taken);
    for (const { pending, result, planned } of results) {
      if (result instanceof Error) {
        pending.reject(result);
        continue;
      }
      if (planned) {
        const { draft } = pending;
        if (draft.ref !== null) {
          const room = loaded.get(draft.room)!;
          room.refs ??= new DedupCache(dedupTtlMs, this.#refs);
          const key = refKey(draft.client, draft.from, draft.ref);
          const hash = inBatch.get(`${draft.room}\u0000${key}`)!.hash;
          room.refs.set(key, { offset: planned.offset, ts: planned.ts, hash }, now);
          posts.find((p) => p.room === draft.room)?.refs.push([
            key,
            planned.offset,
            planned.ts,
            hash,
          ]);
        }
        this.#tail.add(planned);
        this.#emit(planned);
      }
      pending.resolve(result);
    }
    this.#peers?.committed(posts);
    if (this.#diskBytes > this.#o.historyBytes && !this.#reclaiming) {
      this.#reclaiming = true;
      this.#jobs.push(() => this.#reclaim().finally(() => this.#reclaiming = false));
    }
    return "done";
  }

  /** The refs of the queued drafts that only the disk may know, read in groups of ten. */
  async #diskRefs(loaded: Map<string, KvRoom>, now: number): Promise<Map<string, KvRef>> {
    const wanted: { id: string; room: string; key: string }[] = [];
    const { dedupTtlMs } = this.#o;
    if (dedupTtlMs <= 0) return new Map();
    for (const { draft } of this.#queue) {
      const room = loaded.get(draft.room);
      if (!room) break;
      // Refs on disk this process did not read, or that memory forgot for DEDUP_MAX_REFS.
      const diskUntil = Math.max(room.refsOnDiskUntil, room.refs?.forgottenUntil ?? 0);
      if (draft.ref === null || now > diskUntil) continue;
      const key = refKey(draft.client, draft.from, draft.ref);
      if (room.refs?.get(key, now)) continue;
      wanted.push({ id: `${draft.room}\u0000${key}`, room: draft.room, key });
    }
    const found = new Map<string, KvRef>();
    const groups = [];
    for (let i = 0; i < wanted.length; i += KV_LIMITS.getMany) {
      groups.push(wanted.slice(i, i + KV_LIMITS.getMany));
    }
    await Promise.all(groups.map(async (group) => {
      const entries = await this.#store.getMany(group.map((w) => kvKeys.ref(w.room, w.key)));
      for (const [i, entry] of entries.entries()) {
        const ref = entry.value as KvRef | null;
        if (ref && now - ref.at <= dedupTtlMs) found.set(group[i].id, ref);
      }
    }));
    return found;
  }

  /** Delivers a committed message: through the room's feed when other workers write it too. */
  #emit(message: ChatMessage): void {
    const feed = this.#feeds.get(message.room);
    if (feed) feed.push({ epoch: epochOf(message), message });
    else this.#events.message(message);
  }

  // --- other workers ---

  /**
   * Another worker's commits: their messages go to the rooms' feeds, and a held room whose head
   * they started from moves with them (so the next commit here does not fail its check; when
   * it is behind, that check fails and the room is read again).
   */
  #follow(rooms: CommittedRoom[]): void {
    for (const c of rooms) {
      const room = this.#rooms.get(c.room);
      if (room && room.epoch === c.epoch && room.stamp === c.prev) {
        room.follow(c, c.kept, c.stamp);
        // The commit may have stored refs this worker must see before it accepts a resend.
        room.refsOnDiskUntil = Math.max(room.refsOnDiskUntil, c.ts + this.#o.dedupTtlMs);
        if (c.refs.length > 0) room.refs ??= new DedupCache(this.#o.dedupTtlMs, this.#refs);
        for (const [key, offset, ts, hash] of c.refs) {
          room.refs!.set(key, { offset, ts, hash }, c.ts);
        }
      }
      this.#storedRefs.wrote(c.refs.length);
      this.#touch(c.room, c.bytes, c.ts);
      // Another worker's commit is as recent as this one's: welcomes read it from the tail too.
      if (room) { for (const m of c.messages) this.#tail.add(m); }
      const feed = this.#feeds.get(c.room);
      if (feed) { for (const message of c.messages) feed.push({ epoch: c.epoch, message }); }
    }
  }

  /** A feed's catch-up: the room's head on disk and its messages after `since` in `epoch`. */
  async #since(name: string, epoch: string, since: number) {
    const head = (await this.#store.get<KvHead>(kvKeys.head(name))).value;
    if (!head) return { epoch, offset: since, messages: [] };
    if (head.epoch !== epoch) return { epoch: head.epoch, offset: head.offset, messages: [] };
    const from = Math.max(since + 1, head.oldest);
    const messages = await this.#messages(name, epoch, from, head.offset);
    return { epoch, offset: head.offset, messages };
  }

  #fail(pending: Pending[], err: unknown): void {
    this.#o.logger?.warn("kv.commit_failed", { count: pending.length, error: String(err) });
    for (const p of pending) p.reject(err);
  }

  // --- housekeeping ---

  /**
   * Brings the disk back under its budget: whole rooms without members first, the least recently
   * used first; then the oldest messages of the largest held rooms.
   */
  async #reclaim(): Promise<void> {
    const target = Math.floor(this.#o.historyBytes * RECLAIM_TO);
    for (const [name, disk] of [...this.#disk]) {
      if (this.#diskBytes <= target) return;
      if (disk.bytes === 0 || !this.#removable(name)) continue;
      await this.#remove(name);
    }
    const held = [...this.#rooms.values()].filter((r) => r.bytes > 0)
      .sort((a, b) => b.bytes - a.bytes);
    for (const room of held) {
      if (this.#diskBytes <= target) return;
      await this.#trim(room, room.bytes - (this.#diskBytes - target));
    }
  }

  /**
   * Queues (once) the deletion of the refs on disk past their TTL, and of the oldest past
   * `maxDiskRefs`: 20 commits at a time, between the queue's commits.
   */
  #trimRefsLater(): void {
    if (this.#trimmingRefs || this.#o.dedupTtlMs <= 0) return;
    this.#trimmingRefs = true;
    const job = async () => {
      let more = false;
      try {
        more = await this.#storedRefs.trim(this.#store, this.#o.now(), 20);
      } finally {
        if (more && !this.#closed) this.#jobs.push(job);
        else this.#trimmingRefs = false;
      }
    };
    this.#schedule(job);
  }

  /** Deletes refs on disk down to 90 % of `maxDiskRefs` (a failure is logged: commits go on). */
  async #trimRefsNow(): Promise<void> {
    try {
      await this.#storedRefs.trim(this.#store, this.#o.now());
    } catch (err) {
      this.#o.logger?.warn("kv.refs_trim_failed", { error: String(err) });
    }
  }

  /** Past `maxDiskRooms`, queues the removal of the least recently used rooms (once). */
  #shrinkLater(): void {
    if (this.#disk.size <= this.#o.maxDiskRooms || this.#shrinking) return;
    this.#shrinking = true;
    this.#schedule(() => this.#shrink().finally(() => this.#shrinking = false));
  }

  /** Removes rooms without members, the least recently used first, down to `maxDiskRooms`. */
  async #shrink(): Promise<void> {
    for (const name of [...this.#disk.keys()]) {
      if (this.#disk.size <= this.#o.maxDiskRooms) return;
      if (this.#removable(name)) await this.#remove(name);
    }
  }

  /** Whether a room can be removed whole: no member here or joining, not being read. */
  #removable(name: string): boolean {
    const room = this.#rooms.get(name);
    return (!room || room.members === 0) && !this.#joined.has(name) && !this.#claims.has(name) &&
      !this.#loading.has(name) && !this.#peers?.hasRemote(name);
  }

  /** Drops the oldest messages of a held room until at most `bytes` are kept. */
  async #trim(room: KvRoom, bytes: number): Promise<void> {
    const plan = new RoomPlan(room, this.#o.historySize, Math.max(0, bytes));
    // An empty addition trims: RoomPlan drops from the oldest while over its bounds.
    while (plan.bytes > Math.max(0, bytes) && plan.dropOld < room.size) {
      const size = room.sizeAt(plan.dropOld++);
      plan.bytes -= size;
      plan.mutations += partsOf(size);
      if (plan.mutations >= KV_LIMITS.mutations - 1) break;
    }
    const atomic = this.#store.atomic();
    plan.write(atomic, this.#o.now());
    const done = await atomic.commit();
    if (!done.ok) {
      await this.#reread(room);
      return;
    }
    room.apply(plan, done.versionstamp);
    this.#resize(room.name, room.bytes);
  }

  /**
   * Notes a room's new size on disk without touching its place in `#disk` (a trim is no use:
   * housekeeping expects the least recently used first).
   */
  #resize(name: string, bytes: number): void {
    const known = this.#disk.get(name);
    if (!known) return this.#touch(name, bytes, this.#o.now());
    this.#diskBytes += bytes - known.bytes;
    known.bytes = bytes;
  }

  /**
   * Removes a room from disk: messages and refs first, its head last, every batch checking that
   * the head has not moved (another writer's commit stops the removal: the room lives on, at
   * worst without its oldest messages, which a read then skips as an interrupted trim). Joins and
   * publishes into the room wait until it is over.
   */
  async #remove(name: string): Promise<void> {
    const removal = this.#removeNow(name).finally(() => this.#removing.delete(name));
    this.#removing.set(name, removal);
    await removal;
  }

  async #removeNow(name: string): Promise<void> {
    const kv = this.#store;
    const headKey = kvKeys.head(name);
    const head = await kv.get<KvHead>(headKey);
    const check = { key: headKey, versionstamp: head.versionstamp };
    // The refs' entries in the order of refs stay, and count, until housekeeping finds them past
    // DEDUP_TTL_MS (they are not found by room).
    for (const prefix of [kvKeys.messages(name), kvKeys.refs(name)]) {
      let atomic = kv.atomic().check(check);
      let count = 0;
      for await (const entry of kv.list({ prefix }, { batchSize: 1000 })) {
        atomic.delete(entry.key as (string | number)[]);
        if (++count === KV_LIMITS.mutations - 1) {
          if (!(await atomic.commit()).ok) return;
          atomic = kv.atomic().check(check);
          count = 0;
        }
      }
      if (count > 0 && !(await atomic.commit()).ok) return;
    }
    if (!(await kv.atomic().check(check).delete(headKey).commit()).ok) return;
    const known = this.#disk.get(name);
    if (known) this.#diskBytes -= known.bytes;
    this.#disk.delete(name);
    const room = this.#rooms.get(name);
    if (room) this.#unload(room);
  }

  maintain(now: number): void {
    const ttl = this.#o.roomTtlMs;
    this.#refs.sweep(now);
    this.#trimRefsLater();
    const expired: string[] = [];
    for (const [name, disk] of this.#disk) {
      // Time spent stopped does not count: a restart gives every room its full TTL again.
      const since = Math.max(disk.touched, this.#startedAt);
      if (now - since <= ttl) break;
      const room = this.#rooms.get(name);
      if (room && room.members > 0) continue;
      if (room && now - room.idleSince <= ttl) continue;
      expired.push(name);
    }
    if (expired.length === 0) return;
    this.#schedule(async () => {
      for (const name of expired) if (this.#removable(name)) await this.#remove(name);
    });
  }

  // --- joining and reading ---

  async join(name: string): Promise<void> {
    // Counted at once: a leave may come before the room is read (the connection closed first).
    this.#joined.set(name, (this.#joined.get(name) ?? 0) + 1);
    // Claimed while read: a room read for another join must not unload it before it counts.
    this.#claims.set(name, (this.#claims.get(name) ?? 0) + 1);
    let room;
    try {
      room = await this.#room(name);
    } finally {
      const left = this.#claims.get(name)! - 1;
      if (left === 0) this.#claims.delete(name);
      else this.#claims.set(name, left);
    }
    this.#settle(room);
  }

  leave(name: string): void {
    const left = (this.#joined.get(name) ?? 0) - 1;
    if (left > 0) this.#joined.set(name, left);
    else this.#joined.delete(name);
    // A room still being read is settled when its read ends.
    const room = this.#rooms.get(name);
    if (room) this.#settle(room);
  }

  /**
   * Brings a held room's member count to the hub's (`#joined`): becoming joined takes it out of
   * the idle rooms (and gives it a feed with other workers); becoming empty makes it idle again.
   */
  #settle(room: KvRoom): void {
    const name = room.name;
    const count = this.#joined.get(name) ?? 0;
    const was = room.members;
    room.members = count;
    if (count > 0 && was === 0) this.#joinedNow(room);
    else if (count === 0 && was > 0) this.#emptyNow(room);
  }

  #joinedNow(room: KvRoom): void {
    const name = room.name;
    this.#idle.delete(name);
    if (!this.#peers) return;
    this.#feeds.get(name)?.close();
    const feed = new RoomFeed({
      deliver: (message) => this.#events.message(message),
      read: (epoch, since) => this.#since(name, epoch ?? room.epoch, since),
      onGap: (from, to) => this.#o.logger?.warn("kv.catchup_gap", { room: name, from, to }),
      onError: (err) =>
        this.#o.logger?.warn("kv.catchup_failed", { room: name, error: String(err) }),
      onReset: (epoch) => this.#events.reset?.(name, epoch),
    });
    feed.start(room.epoch, room.offset);
    this.#feeds.set(name, feed);
  }

  #emptyNow(room: KvRoom): void {
    const name = room.name;
    this.#feeds.get(name)?.close();
    this.#feeds.delete(name);
    this.#peers?.setLocal(name, 0);
    const now = this.#o.now();
    room.idleSince = now;
    this.#idle.set(name, room);
    this.#members.forget(name);
    this.#touch(name, room.bytes, now);
  }

  async recover(
    name: string,
    resume: { since: number; epoch: string } | null,
    recent: number,
  ): Promise<Recovery> {
    const room = await this.#room(name);
    const { epoch, offset, oldest } = room;
    const cap = this.#o.historyReadBytes;
    if (resume && resume.epoch === epoch && resume.since >= oldest - 1 && resume.since <= offset) {
      // A gap over what a welcome may read is answered like a lost one.
      if (room.bytesFrom(resume.since + 1 - oldest) <= cap) {
        const after = await this.#messages(name, epoch, resume.since + 1, offset);
        if (after.length === offset - resume.since) {
          return { epoch, offset, recovered: true, history: after };
        }
      }
    }
    // The last `recent` messages, as many of them as fit in `cap` bytes.
    let count = 0;
    let bytes = 0;
    for (let i = room.size - 1; i >= 0 && count < recent; i--) {
      bytes += room.sizeAt(i);
      if (bytes > cap) break;
      count++;
    }
    const history = count > 0 ? await this.#messages(name, epoch, offset - count + 1, offset) : [];
    return { epoch, offset, recovered: false, history };
  }

  /**
   * The messages `from` to `to` that the disk holds, in offset order; joins that want the same
   * ones at once (resumers of one room) share one read and its messages.
   */
  #messages(room: string, epoch: string, from: number, to: number): Promise<ChatMessage[]> {
    const key = `${room}\u0000${epoch}\u0000${from}\u0000${to}`;
    const kept = this.#tail.range(room, epoch, from, to);
    if (kept) return Promise.resolve(kept);
    let read = this.#reads.get(key);
    if (!read) {
      read = this.#readMessages(room, epoch, from, to).finally(() => this.#reads.delete(key));
      this.#reads.set(key, read);
    }
    return read;
  }

  async #readMessages(
    room: string,
    epoch: string,
    from: number,
    to: number,
  ): Promise<ChatMessage[]> {
    if (from > to) return [];
    const entries = [];
    for await (
      const entry of this.#store.list({
        start: kvKeys.from(room, from),
        end: kvKeys.from(room, to + 1),
      }, { batchSize: Math.min(1000, to - from + 1) })
    ) entries.push(entry);
    return decodeChunks(room, epoch, entries);
  }

  memberJoined(room: string, member: Member): void {
    this.#members.joined(room, member);
    this.#peers?.memberJoined(room, member);
  }

  memberLeft(room: string, id: string): void {
    this.#members.left(room, id);
    this.#peers?.memberLeft(room, id);
  }

  /** This worker's members first, in the order they joined, then the other workers'. */
  async members(room: string, limit: number, local: number): Promise<RoomMembers> {
    const mine = await this.#members.list(room, limit, local);
    if (!this.#peers) return mine;
    const others = this.#peers.remoteMembers(room, limit - mine.members.length);
    return { online: this.#peers.online(room, local), members: mine.members.concat(others) };
  }

  online(room: string, local: number): number {
    if (!this.#peers) return local;
    // Only a joined room counts here (leaving, the last connection takes the count along).
    if (local > 0 && this.#rooms.get(room)?.members) this.#peers.setLocal(room, local);
    return this.#peers.online(room, local);
  }

  reportPresence(counts: Map<string, number>): void {
    this.#peers?.replaceLocal(counts);
  }

  admission(name: string): "known" | "new" | "full" {
    if (this.#rooms.has(name) || this.#loading.has(name)) return "known";
    // A room new to the disk waits while the disk is past `maxDiskRooms` (housekeeping removes
    // the least recently used, one at a time): rooms made faster than that must not pile up.
    if (!this.#disk.has(name) && this.#disk.size + this.#loading.size > this.#o.maxDiskRooms) {
      return "full";
    }
    // Rooms being read count, and each idle room makes way once: parallel handshakes into new
    // rooms must not pass MAX_ROOMS.
    let idle = this.#idle.size;
    for (const claimed of this.#claims.keys()) if (this.#idle.has(claimed)) idle--;
    return this.#rooms.size + this.#loading.size - idle < this.#o.maxRooms ? "new" : "full";
  }

  roomCount(): number {
    return this.#rooms.size;
  }

  roomNames(): Iterable<string> {
    return this.#rooms.keys();
  }

  position(name: string): RoomPosition | null {
    const room = this.#rooms.get(name);
    return room ? { epoch: room.epoch, offset: room.offset } : null;
  }

  command(command: EngineCommand): Promise<void> {
    // Without peers, one process: no other to tell.
    this.#peers?.command(command);
    return Promise.resolve();
  }

  /** Commits what is queued, then closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.settled();
    this.#peers?.close();
    for (const feed of this.#feeds.values()) feed.close();
    this.#feeds.clear();
    this.#kv?.close();
    this.#rooms.clear();
    this.#idle.clear();
    this.#members.clear();
    this.#joined.clear();
  }
}

/** What a committed plan did to its room, for the other workers. */
function committedRoom(plan: RoomPlan, prev: string | null, ts: number): CommittedRoom {
  const { room } = plan;
  return {
    room: room.name,
    epoch: room.epoch,
    prev,
    stamp: room.stamp!,
    offset: room.offset,
    oldest: room.oldest,
    bytes: room.bytes,
    ts,
    kept: plan.added.slice(plan.dropNew).map((p) => p.bytes),
    messages: plan.added.map((p) => p.message),
    refs: [],
  };
}
