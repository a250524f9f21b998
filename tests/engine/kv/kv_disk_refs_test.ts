/**
 * The KV engine's bound on refs on disk (`maxDiskRefs`, `KV_MAX_REFS`): the count every worker
 * shares, the oldest deleted past the bound, entries past the TTL deleted by housekeeping, and a
 * later record of the same ref kept when an earlier entry goes.
 */
import assert from "node:assert/strict";
import {
  countingKv,
  kvDraft,
  kvTempPath as tempPath,
  startedKvEngine,
} from "../../helpers/kv_engine.ts";
import { kvKeys } from "../../../lib/engine/kv/kv_messages.ts";
import type { KvHandle } from "../../../lib/engine/kv/kv_handle.ts";

/** Refs the entries in order list, records of refs, and the count, as the file holds them. */
async function onDisk(kv: KvHandle): Promise<{ entries: number; records: number; count: number }> {
  let entries = 0;
  let records = 0;
  for await (const e of kv.list<string[]>({ prefix: kvKeys.refTimes })) {
    entries += e.value.length / 2;
  }
  for await (const _ of kv.list({ prefix: ["r"] })) records++;
  const counted = (await kv.get<{ value: bigint }>(kvKeys.refCount)).value;
  return { entries, records, count: Number(counted?.value ?? 0n) };
}

Deno.test("kv refs on disk: up to maxDiskRefs nothing goes; one more and the oldest go, down to 90 %", async () => {
  const tmp = await tempPath();
  const probe = await Deno.openKv(tmp.path);
  const { engine, received } = await startedKvEngine(await Deno.openKv(tmp.path), {
    maxDiskRefs: 10,
    maxRefs: 1, // memory keeps one: the disk answers for the others
  });
  try {
    for (let i = 1; i <= 10; i++) {
      assert.equal(
        (await engine.publish(kvDraft("r", `t${i}`, { ref: `r${i}` }))).status,
        "accepted",
      );
    }
    await engine.settled();
    assert.deepEqual(engine.diskRefs, { held: 10, forgotten: 0 });
    assert.deepEqual(await onDisk(probe), { entries: 10, records: 10, count: 10 });
    assert.equal((await engine.publish(kvDraft("r", "t1", { ref: "r1" }))).status, "duplicate");

    assert.equal((await engine.publish(kvDraft("r", "t11", { ref: "r11" }))).status, "accepted");
    await engine.settled();
    assert.deepEqual(engine.diskRefs, { held: 9, forgotten: 2 });
    assert.deepEqual(await onDisk(probe), { entries: 9, records: 9, count: 9 });
    // r1 and r2 are gone from disk (and memory): a resend is published again.
    const again = await engine.publish(kvDraft("r", "t2", { ref: "r2" }));
    assert.ok(again.status === "accepted" && again.message.offset === 12);
    // r3, the oldest kept, still answers with its first offset.
    assert.deepEqual(await engine.publish(kvDraft("r", "t3", { ref: "r3" })), {
      status: "duplicate",
      offset: 3,
      ts: received[2].ts,
    });
  } finally {
    await engine.close();
    probe.close();
    await tmp.remove();
  }
});

Deno.test("kv refs on disk: housekeeping deletes the entries and records past DEDUP_TTL_MS", async () => {
  const kv = await Deno.openKv(":memory:");
  let now = 1_000_000;
  const { engine } = await startedKvEngine(kv, { now: () => now, dedupTtlMs: 500 });
  try {
    for (const room of ["a", "b", "c"]) await engine.publish(kvDraft(room, "x", { ref: room }));
    now += 400;
    await engine.publish(kvDraft("a", "y", { ref: "later" }));
    now += 101; // the first three are 501 ms old, the last 101 ms
    engine.maintain(now);
    await engine.settled();
    // The records expire by themselves (`expireIn`, on the real clock): only their entries go.
    assert.deepEqual(await onDisk(kv), { entries: 1, records: 4, count: 1 });
    assert.deepEqual(engine.diskRefs, { held: 1, forgotten: 0 }, "expired, not forgotten early");
  } finally {
    await engine.close();
  }
});

Deno.test("kv refs on disk: an expired entry goes, the same ref's later record stays", async () => {
  const tmp = await tempPath();
  let now = 1_000_000;
  try {
    const first = await startedKvEngine(await Deno.openKv(tmp.path), {
      now: () => now,
      dedupTtlMs: 500,
    });
    await first.engine.publish(kvDraft("r", "x", { ref: "r1" }));
    now += 501;
    const again = await first.engine.publish(kvDraft("r", "x", { ref: "r1" }));
    assert.ok(again.status === "accepted" && again.message.offset === 2, "r1 had expired");
    now += 100;
    first.engine.maintain(now);
    await first.engine.settled();
    await first.engine.close();
    // A new engine knows r1 from disk only: its second record.
    const second = await startedKvEngine(await Deno.openKv(tmp.path), {
      now: () => now,
      dedupTtlMs: 500,
    });
    try {
      assert.deepEqual(second.engine.diskRefs, { held: 1, forgotten: 0 });
      assert.deepEqual(await second.engine.publish(kvDraft("r", "x", { ref: "r1" })), {
        status: "duplicate",
        offset: 2,
        ts: again.message.ts,
      });
    } finally {
      await second.engine.close();
    }
  } finally {
    await tmp.remove();
  }
});

Deno.test("kv refs on disk: a restart with a lower bound trims before its first commit", async () => {
  const tmp = await tempPath();
  try {
    const first = await startedKvEngine(await Deno.openKv(tmp.path), { maxDiskRefs: 100 });
    for (let i = 0; i < 50; i++) await first.engine.publish(kvDraft("r", "x", { ref: `r${i}` }));
    await first.engine.close();
    const second = await startedKvEngine(await Deno.openKv(tmp.path), { maxDiskRefs: 20 });
    try {
      assert.deepEqual(second.engine.diskRefs, { held: 50, forgotten: 0 }, "read at start");
      await second.engine.publish(kvDraft("r", "y", { ref: "new" }));
      await second.engine.settled();
      assert.deepEqual(second.engine.diskRefs, { held: 19, forgotten: 32 });
      // The newest refs stayed: r49 is a duplicate, r0 is published again.
      assert.equal(
        (await second.engine.publish(kvDraft("r", "x", { ref: "r49" }))).status,
        "duplicate",
      );
      assert.equal(
        (await second.engine.publish(kvDraft("r", "x", { ref: "r0" }))).status,
        "accepted",
      );
    } finally {
      await second.engine.close();
    }
  } finally {
    await tmp.remove();
  }
});

Deno.test("kv refs on disk: two workers trimming one file at once keep the count exact", async () => {
  const tmp = await tempPath();
  const probe = await Deno.openKv(tmp.path);
  const a = await startedKvEngine(await Deno.openKv(tmp.path), { maxDiskRefs: 40 });
  const b = await startedKvEngine(await Deno.openKv(tmp.path), { maxDiskRefs: 40 });
  try {
    for (let round = 0; round < 4; round++) {
      // Each writes its own room; neither hears of the other's refs (no channel here).
      await Promise.all([a, b].map(({ engine }, w) =>
        Promise.all(
          Array.from({ length: 150 }, (_, i) =>
            engine.publish(kvDraft(`room-${w}`, "x", { ref: `${round}-${w}-${i}` }))),
        )
      ));
      const now = Date.now();
      a.engine.maintain(now);
      b.engine.maintain(now);
      await Promise.all([a.engine.settled(), b.engine.settled()]);
      const disk = await onDisk(probe);
      assert.equal(disk.count, disk.entries, `round ${round}: the count is the number of entries`);
      assert.equal(disk.records, disk.entries, `round ${round}: each entry has its record`);
      assert.ok(disk.count <= 40, `round ${round}: at most maxDiskRefs on disk: ${disk.count}`);
    }
  } finally {
    await a.engine.close();
    await b.engine.close();
    probe.close();
    await tmp.remove();
  }
});

Deno.test("kv refs on disk: a commit's refs past one value's size are written in several entries", async () => {
  const { kv, commits } = countingKv(await Deno.openKv(":memory:"));
  const { engine } = await startedKvEngine(kv);
  try {
    const room = "r".repeat(64);
    const before = commits();
    const results = await Promise.all(
      Array.from(
        { length: 600 },
        (_, i) => engine.publish(kvDraft(room, `m${i}`, { ref: `${i}-`.padEnd(128, "x") })),
      ),
    );
    assert.deepEqual(results.filter((r) => r.status !== "accepted"), []);
    const made = commits() - before;
    let rows = 0;
    for await (const _ of kv.list({ prefix: kvKeys.refTimes })) rows++;
    assert.ok(
      rows > made,
      `${rows} entries for ${made} commits: each commit's refs fill more than one`,
    );
    assert.deepEqual(await onDisk(kv), { entries: 600, records: 600, count: 600 });
  } finally {
    await engine.close();
  }
});

Deno.test("kv refs on disk: a trim that fails is logged, and publishes go on", async () => {
  const inner = await Deno.openKv(":memory:");
  let failing = true;
  // The order of refs cannot be read while `failing`: every trim fails.
  const kv: KvHandle = {
    get: (key) => inner.get(key as Deno.KvKey),
    getMany: (keys) => inner.getMany(keys as Deno.KvKey[]),
    list: (selector, options) => {
      if (failing && "prefix" in selector && selector.prefix[0] === "rt") {
        throw new Error("disk read failed");
      }
      return inner.list(selector as Deno.KvListSelector, options);
    },
    atomic: () => inner.atomic(),
    close: () => inner.close(),
  };
  const warned: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn: (event: string) => void warned.push(event),
    error() {},
  };
  const { engine } = await startedKvEngine(kv, { maxDiskRefs: 2, logger });
  try {
    for (let i = 1; i <= 5; i++) {
      assert.equal(
        (await engine.publish(kvDraft("r", `t${i}`, { ref: `r${i}` }))).status,
        "accepted",
      );
    }
    await engine.settled();
    assert.ok(warned.includes("kv.refs_trim_failed"), `warned: ${warned}`);
    assert.equal(engine.diskRefs.held, 5, "nothing could be deleted");
    failing = false;
    await engine.publish(kvDraft("r", "t6", { ref: "r6" }));
    await engine.settled();
    assert.deepEqual(
      await onDisk(kv),
      { entries: 2, records: 2, count: 2 },
      "trimmed once it could",
    );
  } finally {
    await engine.close();
  }
});
