/**
 * The contract every engine keeps, run against each engine: the memory engine always, the Redis
 * engine when redis-server is there (a loud skip outside CI, a failure in CI without it).
 */
import assert from "node:assert/strict";
import type { Draft, Engine } from "../../lib/engine/engine.ts";
import { MemoryEngine } from "../../lib/engine/memory/memory_engine.ts";
import type { ChatMessage } from "../../lib/protocol/frames.ts";
import { redisBinary, startEngine, startRedis, type TestRedis } from "../helpers/redis.ts";
import { eventually } from "../helpers/redis_peer.ts";

interface Subject {
  engine: Engine;
  received: ChatMessage[];
}

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
}

Deno.test("engine contract: memory", async (t) => {
  await contract(t, () => {
    const received: ChatMessage[] = [];
    const engine = new MemoryEngine({ historySize: 10, dedupTtlMs: 1000, roomTtlMs: 1000 });
    engine.start({ message: (m) => received.push(m), presence: () => {}, reset: () => {} });
    return Promise.resolve({ engine, received });
  });
});

Deno.test({ name: "engine contract: redis", ignore: redisBinary.ignore }, async (t) => {
  const redis: TestRedis = await startRedis();
  const open: Engine[] = [];
  try {
    await contract(t, async () => {
      const { e, received } = await startEngine(redis);
      open.push(e);
      return { engine: e, received };
    });
  } finally {
    for (const e of open) await e.close();
    await redis.stop();
  }
});
