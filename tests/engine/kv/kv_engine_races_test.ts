/**
 * The KV engine's races with the hub and with other writers, found in review: a leave while its
 * room is read, a join or another writer's commit during a removal, and a read that fails before
 * a commit. Each test failed before its fix.
 */
import assert from "node:assert/strict";
import type { KvHandle } from "../../../lib/engine/kv/kv_handle.ts";
import { kvDraft, startedKvEngine } from "../../helpers/kv_engine.ts";

Deno.test("kv races: a leave before the join's room is read counts (the room is idle again)", async () => {
  const kv = await Deno.openKv(":memory:");
  const { engine } = await startedKvEngine(kv, { maxRooms: 1 });
  try {
    // The hub calls join, then leave when the joining connection closes before room.ready.
    const joining = engine.join("a");
    engine.leave("a");
    await joining;
    // "a" has no member now: a new room should be able to take its place.
    assert.equal(engine.admission("b"), "new", "room a still counts as joined");
  } finally {
    await engine.close();
  }
});

/** A handle whose next `get` of a key containing `match` waits for `open()`. */
function gated(kv: KvHandle) {
  let armed: string | null = null;
  let release: () => void = () => {};
  let hit: () => void = () => {};
  let reached = new Promise<void>((r) => hit = r);
  const handle: KvHandle = {
    get: async <T>(key: readonly (string | number)[]) => {
      if (armed !== null && key[0] === "h" && key[1] === armed) {
        armed = null;
        const read = await kv.get<T>(key); // read first, then wait: the reader acts on this value
        hit();
        await new Promise<void>((r) => release = r);
        return read;
      }
      return kv.get<T>(key);
    },
    getMany: (keys) => kv.getMany(keys),
    list: (s, o) => kv.list(s, o),
    atomic: () => kv.atomic(),
    close: () => kv.close(),
  };
  return {
    kv: handle,
    arm: (room: string) => {
      armed = room;
      reached = new Promise<void>((r) => hit = r);
    },
    get reached() {
      return reached;
    },
    open: () => release(),
  };
}

Deno.test("kv races: a join while its room is removed waits, then gets a new room; nothing half-removed", async () => {
  const g = gated(await Deno.openKv(":memory:"));
  let clock = 1_000_000;
  const { engine } = await startedKvEngine(g.kv, { now: () => clock, roomTtlMs: 1000 });
  try {
    for (let i = 0; i < 3; i++) await engine.publish(kvDraft("a", `m${i}`));
    const before = engine.position("a")!;
    clock += 5000; // idle past ROOM_TTL_MS
    g.arm("a"); // #remove's first read of the head waits
    engine.maintain(clock);
    await g.reached;
    // A client joins the room now: the join waits for the removal instead of taking the room
    // that is being deleted under it.
    let joined = false;
    const joining = engine.join("a").then(() => joined = true);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(joined, false, "the join waits for the removal");
    g.open();
    await joining;
    await engine.settled();
    const welcome = await engine.recover("a", null, 10);
    assert.notEqual(welcome.epoch, before.epoch, "the room was removed: a new epoch");
    assert.deepEqual([welcome.offset, welcome.history.length], [0, 0]);
    const res = await engine.publish(kvDraft("a", "after"));
    assert.equal(res.status, "accepted");
    if (res.status === "accepted") assert.equal(res.message.offset, 1);
    engine.leave("a");
    assert.equal(engine.admission("b"), "new");
  } finally {
    await engine.close();
  }
});

const noClose = (kv: KvHandle): KvHandle => ({
  get: (k) => kv.get(k),
  getMany: (k) => kv.getMany(k),
  list: (s, o) => kv.list(s, o),
  atomic: () => kv.atomic(),
  close: () => {},
});

Deno.test("kv races: another writer's removal stops once the head moved: acked messages and refs stay", async () => {
  const base = await Deno.openKv(":memory:");
  const g = gated(noClose(base));
  let clock = 1_000_000;
  // A: the worker whose client is in the room. B: another writer on the same file that has not
  // heard of A's member yet (the 50 ms before A's summary, or a second process).
  const a = await startedKvEngine(noClose(base), { now: () => clock });
  for (let i = 0; i < 3; i++) await a.engine.publish(kvDraft("a", `m${i}`));
  const b = await startedKvEngine(g.kv, { now: () => clock, roomTtlMs: 1000 });
  await a.engine.join("a");
  clock += 5000;
  g.arm("a");
  b.engine.maintain(clock); // to B the room is idle past its TTL
  await g.reached;
  const acked = await a.engine.publish(kvDraft("a", "important", { ref: "r1" }));
  assert.equal(acked.status, "accepted");
  g.open();
  await b.engine.settled();
  await b.engine.close();
  await a.engine.close();
  // A restarts on the same file (kill -9 and back): the acked message and its ref must be there.
  const c = await startedKvEngine(base, { now: () => clock });
  try {
    const got = await c.engine.recover("a", null, 10);
    const resend = await c.engine.publish(kvDraft("a", "important", { ref: "r1" }));
    assert.deepEqual(
      { offset: got.offset, history: got.history.map((m) => m.text), resend: resend.status },
      { offset: 4, history: ["m0", "m1", "m2", "important"], resend: "duplicate" },
    );
  } finally {
    await c.engine.close();
  }
});

Deno.test("kv races: a leave while a joined room is read again counts", async () => {
  const base = await Deno.openKv(":memory:");
  const g = gated(noClose(base));
  const { engine, resets } = await startedKvEngine(g.kv, { maxRooms: 1 });
  try {
    await engine.join("a");
    await engine.publish(kvDraft("a", "m0"));
    // The room is removed from disk by another writer (or lost): A's next commit fails its check.
    await base.delete(["h", "a"]);
    g.arm("a");
    const p = engine.publish(kvDraft("a", "m1"));
    await g.reached; // #refresh's read of the head
    g.arm("a");
    g.open();
    await g.reached; // #reread -> #load's read of the head, the room unloaded meanwhile
    engine.leave("a"); // its last connection leaves now
    g.open();
    await p;
    await engine.settled();
    assert.equal(resets.length, 0, "its last member left during the read: nobody to tell");
    assert.equal(engine.admission("b"), "new", "room a still counts as joined after its leave");
  } finally {
    await engine.close();
    base.close();
  }
});

Deno.test("kv races: a failed read of refs on disk fails the publish, nothing is left unhandled", async () => {
  const base = await Deno.openKv(":memory:");
  const first = await startedKvEngine(noClose(base));
  await first.engine.publish(kvDraft("a", "m0", { ref: "x" }));
  await first.engine.close();
  let failGetMany = true;
  const kv: KvHandle = {
    get: (k) => base.get(k),
    list: (s, o) => base.list(s, o),
    atomic: () => base.atomic(),
    getMany: (keys) => {
      if (failGetMany) {
        failGetMany = false;
        return Promise.reject(new Error("disk I/O error"));
      }
      return base.getMany(keys);
    },
    close: () => base.close(),
  };
  const { engine } = await startedKvEngine(kv);
  const unhandled: unknown[] = [];
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    unhandled.push(e.reason);
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  try {
    const result = await engine.publish(kvDraft("a", "m1", { ref: "y" })).then(
      (r) => r.status,
      (e) => `rejected: ${e}`,
    );
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual({ result, unhandled: unhandled.map(String) }, {
      result: "rejected: Error: disk I/O error",
      unhandled: [],
    });
  } finally {
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
    await engine.close();
  }
});

Deno.test("kv races: a resend queued while the disk's refs are read is checked against the disk too", async () => {
  const base = await Deno.openKv(":memory:");
  let gate: Promise<void> | null = null;
  let reading: () => void = () => {};
  const readingNow = new Promise<void>((r) => reading = r);
  const kv: KvHandle = {
    get: (k) => base.get(k),
    list: (s, o) => base.list(s, o),
    atomic: () => base.atomic(),
    getMany: async (keys) => {
      if (gate) {
        reading();
        await gate;
      }
      return base.getMany(keys);
    },
    close: () => base.close(),
  };
  // Memory keeps one ref: r1 and r2 are found on disk only.
  const { engine, received } = await startedKvEngine(kv, { maxRefs: 1 });
  try {
    for (const r of ["r1", "r2", "r3"]) await engine.publish(kvDraft("a", `t-${r}`, { ref: r }));
    let open: () => void = () => {};
    gate = new Promise<void>((r) => open = r);
    const first = engine.publish(kvDraft("a", "t-r1", { ref: "r1" }));
    await readingNow; // the writer reads r1 from disk...
    gate = null;
    const second = engine.publish(kvDraft("a", "t-r2", { ref: "r2" })); // ...as r2 comes
    open();
    assert.deepEqual((await Promise.all([first, second])).map((r) => r.status), [
      "duplicate",
      "duplicate",
    ]);
    assert.equal(received.length, 3, "neither resend was published again");
  } finally {
    await engine.close();
  }
});
