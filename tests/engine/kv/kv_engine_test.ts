import assert from "node:assert/strict";
import type { KvHandle } from "../../../lib/engine/kv/kv_handle.ts";
import { encodeBody, kvKeys } from "../../../lib/engine/kv/kv_messages.ts";
import type { Draft } from "../../../lib/engine/engine.ts";
import {
  countingKv,
  kvDraft,
  kvTempPath as tempPath,
  startedKvEngine,
} from "../../helpers/kv_engine.ts";

/** Body bytes of `draft` on disk (what the byte budgets count). */
const bodyBytes = (d: Draft, ts: number) => encodeBody(d, ts).bytes;

Deno.test("kv: concurrent publishes get gap-free offsets per room, in one commit per turn", async () => {
  const { kv, commits } = countingKv(await Deno.openKv(":memory:"));
  const { engine, received } = await startedKvEngine(kv);
  try {
    const rooms = ["a", "b", "c"];
    const before = commits();
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => engine.publish(kvDraft(rooms[i % 3], `m${i}`))),
    );
    assert.ok(results.every((r) => r.status === "accepted"));
    const grouped = commits() - before;
    assert.ok(grouped <= 6, `300 publishes in one turn took ${grouped} commits`);
    for (const room of rooms) {
      const offsets: number[] = results.flatMap((r) =>
        r.status === "accepted" && r.message.room === room ? [r.message.offset] : []
      );
      assert.deepEqual(offsets, Array.from({ length: 100 }, (_, i) => i + 1), room);
      const emitted = received.filter((m) => m.room === room).map((m) => m.offset);
      assert.deepEqual(emitted, offsets, "emitted after commit, in offset order");
      const { history, offset } = await engine.recover(room, null, 1000);
      assert.equal(offset, 100);
      assert.deepEqual(history.map((m) => m.offset), offsets);
      assert.equal(history[99].text, `m${297 + rooms.indexOf(room)}`);
    }
  } finally {
    await engine.close();
  }
});

Deno.test("kv: an ack only after the commit; a failed commit rejects and emits nothing", async () => {
  const real = await Deno.openKv(":memory:");
  let failing = false;
  const kv: KvHandle = {
    get: (key) => real.get(key),
    getMany: (keys) => real.getMany(keys),
    list: (selector, options) => real.list(selector, options),
    atomic: () => {
      const atomic = real.atomic();
      const commit = atomic.commit.bind(atomic);
      atomic.commit = () => failing ? Promise.reject(new Error("disk full")) : commit();
      return atomic;
    },
    close: () => real.close(),
  };
  const { engine, received } = await startedKvEngine(kv);
  try {
    await engine.join("r");
    failing = true;
    await assert.rejects(engine.publish(kvDraft("r", "lost")), /disk full/);
    assert.equal(received.length, 0);
    failing = false;
    const ok = await engine.publish(kvDraft("r", "kept"));
    assert.ok(ok.status === "accepted" && ok.message.offset === 1, "the failed one took no offset");
    assert.deepEqual(received.map((m) => m.text), ["kept"]);
  } finally {
    await engine.close();
  }
});

Deno.test("kv: epoch, offset, history and refs survive a reopen of the same file", async () => {
  const tmp = await tempPath();
  try {
    const first = await startedKvEngine(await Deno.openKv(tmp.path));
    await first.engine.join("r");
    const a = await first.engine.publish(kvDraft("r", "one", { ref: "r1" }));
    await first.engine.publish(kvDraft("r", "two", { ref: "r2", data: { n: 2 } }));
    assert.equal(a.status, "accepted");
    const epoch = first.engine.position("r")!.epoch;
    await first.engine.close();

    const again = await startedKvEngine(await Deno.openKv(tmp.path));
    try {
      const resumed = await again.engine.recover("r", { since: 1, epoch }, 10);
      assert.equal(resumed.epoch, epoch);
      assert.equal(resumed.offset, 2);
      assert.equal(resumed.recovered, true);
      assert.deepEqual(resumed.history.map((m) => [m.offset, m.text, m.data]), [
        [2, "two", { n: 2 }],
      ]);
      const dup = await again.engine.publish(kvDraft("r", "one", { ref: "r1" }));
      assert.deepEqual(dup, {
        status: "duplicate",
        offset: 1,
        ts: a.status === "accepted" ? a.message.ts : -1,
      });
      assert.deepEqual(
        await again.engine.publish(kvDraft("r", "other text", { ref: "r1" })),
        { status: "conflict" },
      );
      const next = await again.engine.publish(kvDraft("r", "three", { ref: "r3" }));
      assert.ok(next.status === "accepted" && next.message.offset === 3);
      assert.equal(next.message.id, `${epoch}-3`);
      assert.equal(again.received.length, 1, "a duplicate is not emitted again");
    } finally {
      await again.engine.close();
    }
  } finally {
    await tmp.remove();
  }
});

Deno.test("kv: a ref is forgotten after DEDUP_TTL_MS, also across a reopen", async () => {
  const tmp = await tempPath();
  let now = 1_000_000;
  try {
    const first = await startedKvEngine(await Deno.openKv(tmp.path), {
      now: () => now,
      dedupTtlMs: 500,
    });
    await first.engine.publish(kvDraft("r", "x", { ref: "r1" }));
    await first.engine.close();
    now += 400;
    const second = await startedKvEngine(await Deno.openKv(tmp.path), {
      now: () => now,
      dedupTtlMs: 500,
    });
    assert.equal(
      (await second.engine.publish(kvDraft("r", "x", { ref: "r1" }))).status,
      "duplicate",
    );
    now += 101; // 501 ms after it was accepted
    const later = await second.engine.publish(kvDraft("r", "x", { ref: "r1" }));
    assert.ok(later.status === "accepted" && later.message.offset === 2);
    await second.engine.close();
  } finally {
    await tmp.remove();
  }
});

Deno.test("kv: HISTORY_SIZE and the room's byte budget trim the oldest, at the boundary", async () => {
  const ts = 5;
  const d = (i: number) => kvDraft("r", `message ${i}`);
  const three = [0, 1, 2].reduce((n, i) => n + bodyBytes(d(i), ts), 0);
  const { engine } = await startedKvEngine(await Deno.openKv(":memory:"), {
    now: () => ts,
    historySize: 5,
    roomHistoryBytes: three,
  });
  try {
    for (const i of [0, 1, 2]) await engine.publish(d(i));
    let got = await engine.recover("r", { since: 0, epoch: engine.position("r")!.epoch }, 10);
    assert.equal(got.recovered, true, "exactly at the budget: all three kept");
    assert.deepEqual(got.history.map((m) => m.offset), [1, 2, 3]);
    await engine.publish(d(3));
    got = await engine.recover("r", { since: 0, epoch: got.epoch }, 10);
    assert.equal(got.recovered, false, "one byte over: the oldest is gone");
    assert.deepEqual(got.history.map((m) => m.offset), [2, 3, 4]);
    assert.equal(engine.diskBytes, bodyBytes(d(1), ts) + bodyBytes(d(2), ts) + bodyBytes(d(3), ts));
  } finally {
    await engine.close();
  }
  const counted = await startedKvEngine(await Deno.openKv(":memory:"), { historySize: 2 });
  try {
    for (const i of [0, 1, 2]) await counted.engine.publish(d(i));
    const got = await counted.engine.recover("r", null, 10);
    assert.deepEqual(got.history.map((m) => m.offset), [2, 3], "HISTORY_SIZE=2 keeps two");
  } finally {
    await counted.engine.close();
  }
});

Deno.test("kv: over the disk budget, idle rooms go first, least recently used first", async () => {
  let now = 1000;
  const kv = await Deno.openKv(":memory:");
  const one = bodyBytes(kvDraft("a", "x".repeat(100)), 1000);
  const { engine } = await startedKvEngine(kv, { now: () => now, historyBytes: 10 * one });
  try {
    await engine.join("busy");
    // 2 + 1 + 7 messages of `one` byte each: exactly the budget.
    for (const [room, count] of [["old", 2], ["new", 1], ["busy", 7]] as const) {
      now++;
      for (let i = 0; i < count; i++) await engine.publish(kvDraft(room, "x".repeat(100)));
    }
    await engine.settled();
    assert.equal(engine.diskBytes, 10 * one, "exactly at the budget: nothing removed");
    const oldEpoch = engine.position("old")!.epoch;
    now++;
    await engine.publish(kvDraft("busy", "x".repeat(100)));
    await engine.settled(); // the reclaim runs in the writer, after the commit
    assert.equal(engine.diskBytes, 9 * one, "one over: down to 90 %, the least recently used");
    assert.equal(
      (await kv.get(kvKeys.head("old"))).value,
      null,
      "the least recently used idle room",
    );
    assert.notEqual((await kv.get(kvKeys.head("new"))).value, null);
    const busy = await engine.recover("busy", null, 10);
    assert.equal(busy.history.length, 8, "a room with members is kept");
    const back = await engine.recover("old", null, 10);
    assert.notEqual(back.epoch, oldEpoch, "a removed room starts a new epoch");
    assert.equal(back.offset, 0);
  } finally {
    await engine.close();
  }
});

Deno.test("kv: a room idle past ROOM_TTL_MS is removed from disk by maintain", async () => {
  let now = 1000;
  const kv = await Deno.openKv(":memory:");
  const { engine } = await startedKvEngine(kv, { now: () => now, roomTtlMs: 100 });
  try {
    await engine.join("kept");
    await engine.publish(kvDraft("gone", "x"));
    await engine.publish(kvDraft("kept", "y"));
    now += 100;
    engine.maintain(now);
    await engine.settled();
    assert.notEqual((await kv.get(kvKeys.head("gone"))).value, null, "at the TTL: kept");
    now += 1;
    engine.maintain(now);
    await engine.settled();
    assert.equal((await kv.get(kvKeys.head("gone"))).value, null, "past the TTL: removed");
    assert.equal((await engine.recover("gone", null, 10)).offset, 0);
    assert.equal((await engine.recover("kept", null, 10)).offset, 1, "a room with members stays");
  } finally {
    await engine.close();
  }
});

Deno.test("kv: two writers on one file never hand out the same offset (the head is checked)", async () => {
  const tmp = await tempPath();
  try {
    const a = await startedKvEngine(await Deno.openKv(tmp.path));
    const b = await startedKvEngine(await Deno.openKv(tmp.path));
    await a.engine.join("r");
    const offsets: number[] = [];
    for (let i = 0; i < 10; i++) {
      for (const e of [a.engine, b.engine]) {
        const r = await e.publish(kvDraft("r", `${i}`));
        assert.equal(r.status, "accepted");
        if (r.status === "accepted") offsets.push(r.message.offset);
      }
    }
    assert.deepEqual(offsets, Array.from({ length: 20 }, (_, i) => i + 1));
    // b wrote last; what a holds of the room catches up at its next write (live delivery
    // between writers is not part of this engine yet).
    const { history } = await b.engine.recover("r", null, 100);
    assert.deepEqual(history.map((m) => m.offset), offsets);
    a.engine.maintain(Date.now() + 120_000);
    await a.engine.settled();
    const reader = await Deno.openKv(tmp.path);
    const head = (await reader.get<{ offset: number }>(kvKeys.head("r"))).value;
    reader.close();
    assert.equal(
      head?.offset,
      20,
      "a's member kept the room through its reads (not removed as idle)",
    );
    assert.deepEqual(a.resets, [], "the same epoch: nobody is told to rejoin");
    await a.engine.close();
    await b.engine.close();
  } finally {
    await tmp.remove();
  }
});

Deno.test("kv: a message too large for one commit is refused, the others go on", async () => {
  const { engine } = await startedKvEngine(await Deno.openKv(":memory:"));
  try {
    const big = engine.publish(kvDraft("r", "x".repeat(900_000)));
    const small = engine.publish(kvDraft("r", "fine"));
    await assert.rejects(big, /kv: a message of 9\d{5} bytes is too large for one KV commit/);
    const ok = await small;
    assert.ok(ok.status === "accepted" && ok.message.offset === 1);
    const chunked = await engine.publish(kvDraft("r", "é".repeat(100_000)));
    assert.ok(chunked.status === "accepted", "a body over one KV value is stored in chunks");
    const { history } = await engine.recover("r", null, 10);
    assert.equal(history[1].text, "é".repeat(100_000));
  } finally {
    await engine.close();
  }
});

Deno.test("kv: at most maxDiskRooms rooms on disk: past it the least recently used idle room goes", async () => {
  let now = 1000;
  const kv = await Deno.openKv(":memory:");
  const { engine } = await startedKvEngine(kv, { now: () => now, maxDiskRooms: 3 });
  try {
    await engine.join("busy"); // used first, but it has a member
    for (const room of ["old", "mid"]) {
      now++;
      await engine.publish(kvDraft(room, "x"));
    }
    await engine.settled();
    assert.equal(engine.diskRooms, 3, "exactly at the bound: nothing removed");
    now++;
    await engine.join("fresh"); // a new room name, as a handshake into it would
    await engine.settled();
    assert.equal(engine.diskRooms, 3, "one over: back to the bound");
    assert.equal((await kv.get(kvKeys.head("old"))).value, null, "the least recently used goes");
    for (const kept of ["busy", "mid", "fresh"]) {
      assert.notEqual((await kv.get(kvKeys.head(kept))).value, null, kept);
    }
    assert.equal((await Array.fromAsync(kv.list({ prefix: kvKeys.messages("old") }))).length, 0);
  } finally {
    await engine.close();
  }
});

Deno.test("kv: past maxDiskRooms a room new to the disk is refused until housekeeping made way", async () => {
  let now = 1000;
  const kv = await Deno.openKv(":memory:");
  const { engine } = await startedKvEngine(kv, { now: () => now, maxDiskRooms: 2 });
  try {
    for (const room of ["a", "b"]) {
      now++;
      await engine.publish(kvDraft(room, "x"));
    }
    await engine.settled();
    assert.equal(engine.admission("c"), "new", "at the bound: a new room may come");
    await engine.join("c"); // the removal it causes is queued, not done yet
    assert.equal(engine.diskRooms, 3);
    assert.equal(engine.admission("d"), "full", "one over: the next new room waits");
    assert.equal(engine.admission("a"), "known", "a room on disk is not new");
    await engine.settled();
    assert.equal(engine.diskRooms, 2);
    assert.equal(engine.admission("d"), "new", "way made: new rooms come again");
  } finally {
    await engine.close();
  }
});

Deno.test("kv: rooms over maxDiskRooms on disk at start are removed, least recently used first", async () => {
  let now = 1000;
  const kv = await Deno.openKv(":memory:");
  const first = await startedKvEngine(kv, { now: () => now });
  for (const room of ["a", "b", "c", "d"]) {
    now++;
    await first.engine.publish(kvDraft(room, "x"));
  }
  await first.engine.settled();
  // The same store, opened again with a lower bound (close() would close the handle).
  const { engine } = await startedKvEngine(kv, { now: () => now, maxDiskRooms: 2 });
  try {
    assert.equal(engine.diskRooms, 4);
    await engine.settled();
    assert.equal(engine.diskRooms, 2);
    const left = [];
    for await (const e of kv.list({ prefix: kvKeys.heads })) left.push(e.key[1]);
    assert.deepEqual(left.sort(), ["c", "d"]);
  } finally {
    await engine.close();
  }
});

Deno.test("kv: admission counts rooms still being read: parallel joins never pass maxRooms", async () => {
  const kv = await Deno.openKv(":memory:");
  const { engine } = await startedKvEngine(kv, { maxRooms: 2 });
  try {
    await engine.join("a");
    engine.leave("a"); // idle: it may make way, once
    await engine.join("held");
    assert.equal(engine.admission("b"), "new");
    const joining = engine.join("b"); // read from disk: not held yet
    assert.equal(engine.admission("b"), "known");
    assert.equal(engine.admission("c"), "full", "a makes way for b, not for c too");
    await joining;
    assert.equal(engine.roomCount(), 2);
    assert.deepEqual([...engine.roomNames()].sort(), ["b", "held"]);
  } finally {
    await engine.close();
  }
});

Deno.test("kv: a resume gap over historyReadBytes is answered like a lost one, within the bytes", async () => {
  const kv = await Deno.openKv(":memory:");
  const one = bodyBytes(kvDraft("r", "x".repeat(100)), 1000);
  const { engine } = await startedKvEngine(kv, { historyReadBytes: 3 * one, now: () => 1000 });
  try {
    for (let i = 0; i < 5; i++) await engine.publish(kvDraft("r", "x".repeat(100)));
    const { epoch } = await engine.recover("r", null, 0);
    const fits = await engine.recover("r", { since: 2, epoch }, 10);
    assert.deepEqual([fits.recovered, fits.history.map((m) => m.offset)], [true, [3, 4, 5]]);
    const over = await engine.recover("r", { since: 1, epoch }, 10);
    assert.deepEqual([over.recovered, over.history.map((m) => m.offset)], [false, [3, 4, 5]]);
    const recent = await engine.recover("r", null, 2);
    assert.deepEqual(recent.history.map((m) => m.offset), [4, 5]);
  } finally {
    await engine.close();
  }
});

Deno.test("kv: recent history comes from the tail in memory, shared by joiners; else from disk", async () => {
  const { kv: handle, lists } = countingKv(await Deno.openKv(":memory:"));
  const { engine } = await startedKvEngine(handle, {
    tailBytes: 1 << 20,
    historyReadBytes: 1 << 16,
  });
  try {
    for (let i = 0; i < 3; i++) await engine.publish(kvDraft("r", `m${i}`));
    const before = lists();
    const { epoch } = await engine.recover("r", null, 0);
    const a = await engine.recover("r", { since: 1, epoch }, 10);
    const b = await engine.recover("r", { since: 1, epoch }, 10);
    assert.deepEqual(a.history.map((m) => m.text), ["m1", "m2"]);
    assert.equal(a.history[0], b.history[0], "the same message objects");
    assert.equal(lists(), before, "no read of the disk");
    await engine.recover("r", { since: 0, epoch }, 10); // all three: the tail holds them too
    assert.equal(lists(), before);
  } finally {
    await engine.close();
  }
});

Deno.test("kv: without a tail, history is read from disk", async () => {
  const { kv: handle, lists } = countingKv(await Deno.openKv(":memory:"));
  const { engine } = await startedKvEngine(handle, { tailBytes: 0 });
  try {
    for (let i = 0; i < 3; i++) await engine.publish(kvDraft("r", `m${i}`));
    const before = lists();
    const { epoch } = await engine.recover("r", null, 0);
    const back = await engine.recover("r", { since: 1, epoch }, 10);
    assert.deepEqual([back.recovered, back.history.map((m) => m.text)], [true, ["m1", "m2"]]);
    assert.equal(lists(), before + 1, "one read of the disk");
  } finally {
    await engine.close();
  }
});

Deno.test("kv: past maxRefs memory forgets the oldest refs, and the disk still answers for them", async () => {
  const kv = await Deno.openKv(":memory:");
  const { engine, received } = await startedKvEngine(kv, { maxRefs: 2 });
  try {
    for (let i = 1; i <= 5; i++) {
      const result = await engine.publish(kvDraft(`room-${i % 2}`, `t${i}`, { ref: `r${i}` }));
      assert.equal(result.status, "accepted");
    }
    assert.deepEqual(engine.refs, { held: 2, forgotten: 3 });
    const first = await engine.publish(kvDraft("room-1", "t1", { ref: "r1" }));
    assert.equal(first.status, "duplicate", "r1 left memory, not the disk");
    assert.deepEqual(await engine.publish(kvDraft("room-1", "other", { ref: "r1" })), {
      status: "conflict",
    });
    assert.equal(received.length, 5);
  } finally {
    await engine.close();
  }
});

Deno.test("kv: a burst of long refs into rooms with long names fits Deno KV's limit on the keys one commit sets", async () => {
  const { kv, commits } = countingKv(await Deno.openKv(":memory:"));
  const { engine } = await startedKvEngine(kv);
  try {
    const rooms = ["a", "b", "c"].map((c) => c.repeat(64));
    const before = commits();
    // 128 characters of 3 UTF-8 bytes each: about 420 bytes of keys per message.
    const results = await Promise.all(
      Array.from(
        { length: 600 },
        (_, i) => engine.publish(kvDraft(rooms[i % 3], `m${i}`, { ref: `${i}-`.padEnd(128, "€") })),
      ),
    );
    assert.deepEqual(results.filter((r) => r.status !== "accepted"), []);
    const split = commits() - before;
    assert.ok(split >= 4 && split <= 8, `600 publishes took ${split} commits`);
  } finally {
    await engine.close();
  }
});
