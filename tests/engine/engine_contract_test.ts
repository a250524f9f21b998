/**
 * The contract every engine keeps, run against each engine: the memory and KV engines always
 * (KV in memory, `:memory:`; and two KV engines on one file linked as the workers of one process
 * are, through a fake of their `BroadcastChannel`), the Redis engine when redis-server is there (a loud skip outside CI, a failure in CI without it).
 */
import assert from "node:assert/strict";
import type { Draft, Engine } from "../../lib/engine/engine.ts";
import { MemoryEngine } from "../../lib/engine/memory/memory_engine.ts";
import { KvEngine } from "../../lib/engine/kv/kv_engine.ts";
import type { ChatMessage, Member } from "../../lib/protocol/frames.ts";
import { redisBinary, startEngine, startRedis, type TestRedis } from "../helpers/redis.ts";
import { eventually } from "../helpers/redis_peer.ts";
import { PeerBus } from "../helpers/peer_bus.ts";

interface Subject {
  engine: Engine;
  received: ChatMessage[];
  /** Another process's engine: sharing the first one's store (Redis), or on its own (memory). */
  peer(): Promise<Engine>;
  /** Whether the engine spans processes (then `peer` shares the store). */
  shared: boolean;
}

/** Polls `read` until `ok` accepts its value; throws with the last value after `timeoutMs`. */
async function until<T>(
  what: string,
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
    last = await read();
  }
  return last;
}

/** Members as auth mode (user, info) and open mode (neither) give them. */
const ANN: Member = { id: "c1", name: "Ann", user: "ann", info: { team: 42 }, client: "pubAnn" };
const BOB: Member = { id: "c2", name: null, client: null };
const CY: Member = { id: "c3", name: "Cy", client: "pubCy" };
const ids = (members: readonly Member[]) => members.map((m) => m.id).sort();
/** The members `engine` lists in `room` (its own count given as 0). */
const list = async (engine: Engine, room: string, limit: number) =>
  (await engine.members(room, limit, 0)).members;

function draft(text: string, extra: Partial<Draft> = {}): Draft {
  return { room: "r", from: "c1", client: null, name: "Ann", text, ref: null, ...extra };
}

async function contract(t: Deno.TestContext, make: () => Promise<Subject>) {
  await t.step("the sender's user and info travel with the message and its history", async () => {
    const { engine, received } = await make();
    await engine.join("r");
    const result = await engine.publish(
      draft("hi", { user: "ann", info: { team: 42, role: "ops" } }),
    );
    assert.equal(result.status, "accepted");
    await eventually("delivered", () => received.length === 1);
    for (
      const m of [
        received[0],
        (await engine.recover("r", null, 10)).history[0],
        result.status === "accepted" ? result.message : null,
      ]
    ) {
      assert.equal(m?.user, "ann");
      assert.deepEqual(m?.info, { team: 42, role: "ops" });
      assert.equal(m?.text, "hi");
    }
  });

  await t.step("data of every JSON type travels unchanged; ref dedupe compares it", async () => {
    const { engine, received } = await make();
    await engine.join("r");
    const values = [{ a: [1, { b: null }] }, [1, "x"], "s", 3.5, false, null];
    for (const [i, data] of values.entries()) {
      const r = await engine.publish({ ...draft("x"), text: undefined, data, ref: `d${i}` });
      assert.equal(r.status, "accepted");
    }
    await eventually("delivered", () => received.length === values.length);
    const history = (await engine.recover("r", null, 10)).history;
    for (const list of [received, history]) {
      assert.deepEqual(list.map((m) => m.data), values);
      assert.ok(list.every((m) => !("text" in m)), "a data-only message has no text");
    }
    const again = await engine.publish({
      ...draft("x"),
      text: undefined,
      data: values[0],
      ref: "d0",
    });
    assert.equal(again.status, "duplicate");
    const other = await engine.publish({
      ...draft("x"),
      text: undefined,
      data: { a: 2 },
      ref: "d0",
    });
    assert.equal(other.status, "conflict");
    const both = await engine.publish({ ...draft("both"), data: { k: 1 }, ref: "b" });
    assert.ok(both.status === "accepted" && both.message.text === "both");
    assert.deepEqual(both.status === "accepted" && both.message.data, { k: 1 });
  });

  await t.step("publishNow, where an engine has it, answers as publish does", async () => {
    const { engine, received } = await make();
    if (!engine.publishNow) {
      // Engines with something to wait for (KV, Redis) have only publish; memory answers at once.
      assert.notEqual(engine.name, "memory");
      return;
    }
    await engine.join("r");
    const first = engine.publishNow(draft("now", { ref: "n1" }));
    assert.ok(first.status === "accepted" && first.message.text === "now");
    assert.equal(received.length, 1, "emitted before it returned");
    assert.deepEqual(engine.publishNow(draft("now", { ref: "n1" })), {
      status: "duplicate",
      offset: first.message.offset,
      ts: first.message.ts,
    });
    assert.deepEqual(await engine.publish(draft("now", { ref: "n1" })), {
      status: "duplicate",
      offset: first.message.offset,
      ts: first.message.ts,
    });
    assert.deepEqual(engine.publishNow(draft("other", { ref: "n1" })), { status: "conflict" });
    const next = engine.publishNow(draft("next"));
    assert.ok(next.status === "accepted" && next.message.offset === first.message.offset + 1);
  });

  await t.step(
    "recoverNow and membersNow, where an engine has them, answer as recover and members do",
    async () => {
      const { engine } = await make();
      if (!engine.recoverNow || !engine.membersNow) {
        // Engines with something to wait for (KV, Redis) have only the promises.
        assert.notEqual(engine.name, "memory");
        assert.equal(engine.recoverNow, undefined, "both or neither");
        assert.equal(engine.membersNow, undefined, "both or neither");
        return;
      }
      await engine.join("r");
      for (const text of ["a", "b", "c"]) await engine.publish(draft(text));
      engine.memberJoined("r", ANN);
      engine.memberJoined("r", BOB);
      const fresh = engine.recoverNow("r", null, 2);
      assert.deepEqual(fresh, await engine.recover("r", null, 2));
      assert.deepEqual(fresh.history.map((m) => m.text), ["b", "c"]);
      const resume = { since: 1, epoch: fresh.epoch };
      const resumed = engine.recoverNow("r", resume, 0);
      assert.deepEqual(resumed, await engine.recover("r", resume, 0));
      assert.deepEqual([resumed.recovered, resumed.history.map((m) => m.text)], [true, ["b", "c"]]);
      const stale = engine.recoverNow("r", { since: 1, epoch: "other" }, 1);
      assert.deepEqual([stale.recovered, stale.history.map((m) => m.text)], [false, ["c"]]);
      assert.deepEqual(engine.membersNow("r", 10, 2), await engine.members("r", 10, 2));
      assert.deepEqual(engine.membersNow("r", 1, 2), { online: 2, members: [ANN] });
      assert.throws(() => engine.membersNow!("r", -1, 0), RangeError);
    },
  );

  await t.step("open mode's messages have no user and no info field", async () => {
    const { engine, received } = await make();
    await engine.join("r");
    await engine.publish(draft("plain"));
    await eventually("delivered", () => received.length === 1);
    const stored = (await engine.recover("r", null, 10)).history[0];
    for (const m of [received[0], stored]) {
      assert.equal("user" in m, false);
      assert.equal("info" in m, false);
    }
  });

  await t.step(
    "members: this process's, in join order, up to the limit, without who left",
    async () => {
      const { engine } = await make();
      await engine.join("r");
      for (const m of [ANN, BOB, CY]) engine.memberJoined("r", m);
      assert.deepEqual(await list(engine, "r", 10), [ANN, BOB, CY], "field for field");
      assert.deepEqual(await list(engine, "r", 3), [ANN, BOB, CY]);
      assert.deepEqual(await list(engine, "r", 2), [ANN, BOB]);
      assert.deepEqual(await list(engine, "r", 0), []);
      assert.deepEqual(await list(engine, "elsewhere", 10), []);
      engine.memberLeft("r", BOB.id);
      engine.memberLeft("r", "nobody");
      assert.deepEqual(await list(engine, "r", 10), [ANN, CY]);
      engine.leave("r");
      assert.deepEqual(
        await list(engine, "r", 10),
        [],
        "leaving the room takes its members along",
      );
      for (const bad of [-1, 1.5, NaN]) {
        await assert.rejects(
          engine.members("r", bad, 0),
          new RegExp(`members: limit must be an integer of at least 0, got ${bad}`),
        );
      }
    },
  );

  await t.step(
    "members: online counts every process's connections, also in a room not held",
    async () => {
      const { engine: a, peer, shared } = await make();
      const b = await peer();
      await a.join("r");
      a.online("r", 3); // a's hub holds three connections, two of them welcomed members
      a.memberJoined("r", ANN);
      a.memberJoined("r", BOB);
      assert.deepEqual(await a.members("r", 10, 3), { online: 3, members: [ANN, BOB] });
      // b has not joined r and holds nobody there.
      const elsewhere = shared ? 3 : 0;
      const seen = await until(
        "b counts a's",
        () => b.members("r", 10, 0),
        (r) => r.online === elsewhere,
      );
      assert.equal(seen.members.length, shared ? 2 : 0);
      assert.equal((await b.members("r", 0, 1)).online, 1 + elsewhere, "a limit of 0 still counts");
    },
  );

  await t.step("members: another process's are listed when the engine is shared", async () => {
    const { engine: a, peer, shared } = await make();
    const b = await peer();
    await a.join("r");
    await b.join("r");
    a.memberJoined("r", ANN);
    a.memberJoined("r", BOB);
    b.memberJoined("r", CY);
    if (!shared) {
      assert.deepEqual(await list(b, "r", 10), [CY], "one process: its own members only");
      assert.deepEqual(await list(a, "r", 10), [ANN, BOB]);
      return;
    }
    const seen = await until(
      "b lists a's members",
      () => list(b, "r", 10),
      (m) => m.length === 3,
    );
    assert.deepEqual(seen[0], CY, "its own first");
    assert.deepEqual(seen.slice(1).sort((x, y) => x.id.localeCompare(y.id)), [ANN, BOB]);
    assert.equal((await list(b, "r", 2)).length, 2, "the limit spans processes");
    assert.deepEqual(await list(b, "r", 1), [CY]);
    a.memberLeft("r", ANN.id);
    await until("b forgets who left a", () => list(b, "r", 10), (m) => m.length === 2);
    assert.deepEqual(ids(await list(b, "r", 10)), [BOB.id, CY.id]);
    a.leave("r");
    await until(
      "b forgets a's members when a leaves",
      () => list(b, "r", 10),
      (m) => m.length === 1,
    );
    assert.deepEqual(await list(b, "r", 10), [CY]);
    assert.deepEqual(ids(await list(a, "r", 10)), [CY.id], "a, no longer in the room, lists b's");
  });
}

Deno.test("engine contract: memory", async (t) => {
  await contract(t, () => {
    const received: ChatMessage[] = [];
    const engine = new MemoryEngine({ historySize: 10, dedupTtlMs: 1000, roomTtlMs: 1000 });
    engine.start({ message: (m) => received.push(m), presence: () => {}, reset: () => {} });
    const peer = async () => {
      const other = new MemoryEngine({ historySize: 10, dedupTtlMs: 1000, roomTtlMs: 1000 });
      await other.start({ message: () => {} });
      return other;
    };
    return Promise.resolve({ engine, received, peer, shared: false });
  });
});

Deno.test("engine contract: kv", async (t) => {
  const open: Engine[] = [];
  const kvEngine = async (events: Parameters<Engine["start"]>[0]) => {
    const engine = new KvEngine({
      kv: await Deno.openKv(":memory:"),
      historySize: 10,
      dedupTtlMs: 1000,
      roomTtlMs: 1000,
    });
    await engine.start(events);
    open.push(engine);
    return engine;
  };
  try {
    await contract(t, async () => {
      const received: ChatMessage[] = [];
      const engine = await kvEngine({
        message: (m) => received.push(m),
        presence: () => {},
        reset: () => {},
      });
      // Another process has its own store: presence is not shared through KV.
      const peer = () => kvEngine({ message: () => {} });
      return { engine, received, peer, shared: false };
    });
  } finally {
    for (const e of open) await e.close();
  }
});

Deno.test("engine contract: kv, two workers of one process on one file", async (t) => {
  const open: Engine[] = [];
  const dir = await Deno.makeTempDir({ prefix: "fanout_kv_workers_" });
  let files = 0;
  const worker = async (path: string, bus: PeerBus, events: Parameters<Engine["start"]>[0]) => {
    const engine = new KvEngine({
      kv: await Deno.openKv(path),
      historySize: 10,
      dedupTtlMs: 1000,
      roomTtlMs: 1000,
      peers: bus.channel(),
    });
    await engine.start(events);
    open.push(engine);
    return engine;
  };
  try {
    await contract(t, async () => {
      const path = `${dir}/kv${files++}.sqlite3`;
      const bus = new PeerBus();
      const received: ChatMessage[] = [];
      const engine = await worker(path, bus, {
        message: (m) => received.push(m),
        presence: () => {},
        reset: () => {},
      });
      const peer = () => worker(path, bus, { message: () => {} });
      return { engine, received, peer, shared: true };
    });
  } finally {
    for (const e of open) await e.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({ name: "engine contract: redis", ignore: redisBinary.ignore }, async (t) => {
  const redis: TestRedis = await startRedis();
  const open: Engine[] = [];
  try {
    await contract(t, async () => {
      const keyPrefix = "t" + crypto.randomUUID().slice(0, 6);
      const { e, received } = await startEngine(redis, { keyPrefix });
      open.push(e);
      const peer = async () => {
        const other = (await startEngine(redis, { keyPrefix })).e;
        open.push(other);
        return other;
      };
      return { engine: e, received, peer, shared: true };
    });
  } finally {
    for (const e of open) await e.close();
    await redis.stop();
  }
});
