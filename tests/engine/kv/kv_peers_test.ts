/**
 * Two KV engines on one file linked as the workers of one process are (`KvPeers` over a fake of
 * their `BroadcastChannel`, posts handed over, dropped or reordered by the test).
 */
import assert from "node:assert/strict";
import { KvEngine } from "../../../lib/engine/kv/kv_engine.ts";
import type { Draft, EngineCommand } from "../../../lib/engine/engine.ts";
import type { ChatMessage, Member } from "../../../lib/protocol/frames.ts";
import { type InFlight, PeerBus } from "../../helpers/peer_bus.ts";
import { ManualTimers } from "../../helpers/manual_timers.ts";
import { countingKv } from "../../helpers/kv_engine.ts";

function draft(text: string, extra: Partial<Draft> = {}): Draft {
  return { room: "r", from: "c1", client: "pubAnn", name: "Ann", text, ref: null, ...extra };
}

interface Worker {
  engine: KvEngine;
  received: ChatMessage[];
  presence: string[];
  commands: EngineCommand[];
  resets: string[];
  /** Atomic operations committed through this worker's handle. */
  commits(): number;
}

/** Two workers on one temp file, a manual bus between them, one manual clock. */
async function pair(options: { ttlMs?: number; historySize?: number } = {}) {
  const dir = await Deno.makeTempDir({ prefix: "fanout_kv_peers_" });
  const bus = new PeerBus("manual");
  const timers = new ManualTimers();
  timers.time = 1_000;
  const kvs: Deno.Kv[] = [];
  const make = async (): Promise<Worker> => {
    const kv = await Deno.openKv(`${dir}/kv.sqlite3`);
    const { kv: counted, commits } = countingKv(kv);
    kvs.push(kv);
    const w: Omit<Worker, "engine"> = {
      received: [],
      presence: [],
      commands: [],
      resets: [],
      commits,
    };
    const engine = new KvEngine({
      kv: counted,
      historySize: options.historySize ?? 100,
      dedupTtlMs: 60_000,
      roomTtlMs: 60_000,
      now: timers.now,
      timers,
      presenceTtlMs: options.ttlMs ?? 6000,
      peers: bus.channel(),
    });
    await engine.start({
      message: (m) => w.received.push(m),
      presence: (room) => w.presence.push(room),
      command: (c) => w.commands.push(c),
      reset: (room, epoch) => w.resets.push(`${room}:${epoch}`),
    });
    return { ...w, engine };
  };
  const a = await make();
  const b = await make();
  bus.deliver(); // b's hello to a
  timers.advance(50);
  bus.deliver(); // a's answer: each knows the other
  return {
    a,
    b,
    bus,
    timers,
    /** The chunk keys on disk, as offsets. */
    async stored(): Promise<number[]> {
      const offsets = new Set<number>();
      for await (const e of kvs[0].list({ prefix: ["m", "r"] })) offsets.add(e.key[2] as number);
      return [...offsets].sort((x, y) => x - y);
    },
    async close() {
      await a.engine.close();
      await b.engine.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const offsets = (w: Worker) => w.received.map((m) => m.offset);
const commitsTo = (w: "a" | "b") => (f: InFlight) =>
  f.post.kind === "commit" && f.to === (w === "a" ? 0 : 1);

/** Lets reads from KV settle: turns of the event loop until `done` (no timers of the test). */
async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 0));
  assert.ok(done(), `never: ${what}`);
}

Deno.test("kv peers: another worker's commits are delivered in offset order, once, and the head follows", async () => {
  const { a, b, bus, close } = await pair();
  try {
    await a.engine.join("r");
    for (const t of ["x", "y", "z"]) await b.engine.publish(draft(t));
    assert.deepEqual(offsets(a), [], "nothing before the posts arrive");
    assert.equal(bus.deliver(commitsTo("a")), 3);
    assert.deepEqual(offsets(a), [1, 2, 3]);
    assert.deepEqual(a.received.map((m) => m.text), ["x", "y", "z"]);
    assert.deepEqual(a.engine.position("r")?.offset, 3, "the view followed the posts");
    const before = a.commits();
    const mine = await a.engine.publish(draft("w"));
    assert.ok(mine.status === "accepted" && mine.message.offset === 4);
    assert.equal(a.commits() - before, 1, "its check held: no failed commit, no reread");
    assert.deepEqual(offsets(a), [1, 2, 3, 4]);
  } finally {
    await close();
  }
});

Deno.test("kv peers: offset n+2 before n+1 reads KV, and the late post is not delivered again", async () => {
  const { a, b, bus, close } = await pair();
  try {
    await a.engine.join("r");
    await b.engine.publish(draft("one"));
    await b.engine.publish(draft("two"));
    const [first, second] = bus.queue.filter(commitsTo("a"));
    bus.deliver((f) => f === second);
    assert.deepEqual(offsets(a), [], "2 waits for 1");
    await until("a read 1 and 2 from KV", () => a.received.length === 2);
    bus.deliver((f) => f === first);
    await until("the bus is empty", () => bus.queue.length === 0);
    assert.deepEqual(offsets(a), [1, 2]);
    assert.deepEqual(a.received.map((m) => m.text), ["one", "two"]);
  } finally {
    await close();
  }
});

Deno.test("kv peers: a worker that misses posts reads the gap from KV, and its next commit is still right", async () => {
  const { a, b, bus, timers, close } = await pair();
  try {
    await a.engine.join("r");
    for (const t of ["1", "2", "3"]) await b.engine.publish(draft(t));
    assert.equal(bus.drop(commitsTo("a")), 3, "lost");
    await b.engine.publish(draft("4"));
    bus.deliver(commitsTo("a"));
    await until("a caught up", () => a.received.length === 4);
    assert.deepEqual(offsets(a), [1, 2, 3, 4]);
    // Its view of the head missed three commits: its check fails, it reads the head again.
    const before = a.commits();
    const mine = await a.engine.publish(draft("5"));
    assert.ok(mine.status === "accepted" && mine.message.offset === 5);
    assert.equal(a.commits() - before, 2, "one failed check, one commit");
    assert.deepEqual(offsets(a), [1, 2, 3, 4, 5]);
    // The newest post lost too: the next presence summary of b names the head, a reads it.
    await b.engine.join("r");
    b.engine.memberJoined("r", { id: "c9", name: null, client: null });
    await b.engine.publish(draft("6"));
    bus.drop(commitsTo("a"));
    timers.advance(50);
    bus.deliver();
    await until("a read the tail", () => a.received.length === 6);
    assert.deepEqual(offsets(a), [1, 2, 3, 4, 5, 6]);
    assert.equal(new Set(offsets(a)).size, 6, "no offset twice");
  } finally {
    await close();
  }
});

Deno.test("kv peers: two workers publishing at once give gap-free offsets, each delivered once on both", async () => {
  const { a, b, bus, close } = await pair();
  try {
    await a.engine.join("r");
    await b.engine.join("r");
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).engine.publish(draft(`m${i}`))),
    );
    const given = results.map((r) => r.status === "accepted" ? r.message.offset : -1);
    assert.deepEqual([...given].sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i + 1));
    // Posts in a shuffled order: the feeds sort it out.
    bus.queue.reverse();
    bus.deliver();
    await until("both have all", () => a.received.length === 40 && b.received.length === 40);
    const all = Array.from({ length: 40 }, (_, i) => i + 1);
    assert.deepEqual(offsets(a), all);
    assert.deepEqual(offsets(b), all);
  } finally {
    await close();
  }
});

Deno.test("kv peers: a ref accepted by one worker is a duplicate on the other once it followed", async () => {
  const { a, b, bus, timers, close } = await pair();
  try {
    await a.engine.join("r"); // a made the room: no refs of its own on disk to read
    timers.time += 5_000;
    const first = await b.engine.publish(draft("hello", { ref: "k1" }));
    assert.ok(first.status === "accepted");
    bus.deliver(commitsTo("a"));
    assert.equal(a.engine.position("r")?.offset, 1, "a followed b's commit");
    const again = await a.engine.publish(draft("hello", { ref: "k1" }));
    assert.deepEqual(again, { status: "duplicate", offset: 1, ts: first.message.ts });
    assert.deepEqual(await a.engine.publish(draft("other", { ref: "k1" })), {
      status: "conflict",
    });
    assert.deepEqual(offsets(a), [1], "the resend was not broadcast");
  } finally {
    await close();
  }
});

Deno.test("kv peers: online and members cover both workers; a silent worker expires, a closed one goes at once", async () => {
  const ttlMs = 3000;
  const { a, b, bus, timers, close } = await pair({ ttlMs });
  try {
    await a.engine.join("r");
    await b.engine.join("r");
    const ann: Member = { id: "a1", name: "Ann", client: null };
    const bob: Member = { id: "b1", name: "Bob", client: null };
    a.engine.online("r", 2);
    a.engine.memberJoined("r", ann);
    b.engine.online("r", 1);
    b.engine.memberJoined("r", bob);
    timers.advance(50);
    bus.deliver();
    assert.equal(a.engine.online("r", 2), 3);
    assert.equal(b.engine.online("r", 1), 3);
    assert.deepEqual(await b.engine.members("r", 10, 1), { online: 3, members: [bob, ann] });
    assert.deepEqual((await b.engine.members("r", 1, 1)).members, [bob], "its own first");
    assert.ok(b.presence.includes("r"), "b was told a's count changed");
    // a says nothing more (its posts are lost): b forgets it after ttlMs.
    b.presence.length = 0;
    for (let t = 0; t <= ttlMs + 1000; t += 500) {
      timers.advance(500);
      bus.drop((f) => f.to === 1);
      bus.deliver();
    }
    assert.equal(b.engine.online("r", 1), 1);
    assert.deepEqual((await b.engine.members("r", 10, 1)).members, [bob]);
    assert.ok(b.presence.includes("r"), "b was told a's count went");
    assert.equal(a.engine.online("r", 2), 3, "a still hears b");
    await b.engine.close();
    bus.deliver();
    assert.equal(a.engine.online("r", 2), 2, "b said it was gone");
  } finally {
    await close();
  }
});

Deno.test("kv peers: a command reaches the other worker, not the sender", async () => {
  const { a, b, bus, close } = await pair();
  try {
    const command: EngineCommand = { kind: "disconnect", user: "ann", code: 4403, reason: "x" };
    await a.engine.command(command);
    bus.deliver();
    assert.deepEqual(b.commands, [command]);
    assert.deepEqual(a.commands, []);
  } finally {
    await close();
  }
});

Deno.test("kv peers: a room another worker has members in is not removed as idle here", async () => {
  const { a, b, bus, timers, close } = await pair();
  try {
    await b.engine.join("r");
    b.engine.memberJoined("r", { id: "b1", name: null, client: null });
    await b.engine.publish(draft("kept"));
    timers.advance(50);
    bus.deliver();
    await a.engine.recover("r", null, 10); // a holds it, without members
    a.engine.maintain(timers.time + 120_000);
    await a.engine.settled();
    const { history } = await b.engine.recover("r", null, 10);
    assert.deepEqual(history.map((m) => m.text), ["kept"]);
    assert.deepEqual(b.resets, []);
  } finally {
    await close();
  }
});

Deno.test("kv peers: a worker whose view missed trims catches up on the head and trims the right messages", async () => {
  const { a, b, bus, stored, close } = await pair({ historySize: 3 });
  try {
    await a.engine.join("r");
    await a.engine.publish(draft("0"));
    bus.deliver();
    for (const t of ["1", "2", "3", "4"]) await b.engine.publish(draft(t));
    bus.drop(commitsTo("a")); // a's view: offset 1; the disk: 2..5 kept
    assert.deepEqual(await stored(), [3, 4, 5]);
    const mine = await a.engine.publish(draft("5"));
    assert.ok(mine.status === "accepted" && mine.message.offset === 6);
    assert.deepEqual(await stored(), [4, 5, 6], "the oldest on disk went, no other");
    bus.deliver(); // b follows a's commit
    for (const w of [a, b]) {
      const { history, offset } = await w.engine.recover("r", null, 10);
      assert.equal(offset, 6);
      assert.deepEqual(history.map((m) => m.text), ["3", "4", "5"]);
    }
    await b.engine.publish(draft("6"));
    assert.deepEqual(await stored(), [5, 6, 7]);
  } finally {
    await close();
  }
});
