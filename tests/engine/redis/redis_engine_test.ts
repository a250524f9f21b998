import assert from "node:assert/strict";
import type { Draft } from "../../../lib/engine/engine.ts";
import type { RedisEngine, RedisEngineOptions } from "../../../lib/engine/redis/redis_engine.ts";
import { redisBinary, startEngine, startRedis } from "../../helpers/redis.ts";
import { eventually } from "../../helpers/redis_peer.ts";

const ignore = redisBinary.ignore;

function draft(room: string, text: string, extra: Partial<Draft> = {}): Draft {
  return { room, from: "c1", client: null, name: null, text, ref: null, ...extra };
}

/** One redis-server for every step; each step uses its own key prefix. */
Deno.test({ name: "redis engine", ignore }, async (t) => {
  const redis = await startRedis();
  const open: RedisEngine[] = [];
  const pair = async (extra: Partial<RedisEngineOptions> = {}) => {
    const keyPrefix = "t" + crypto.randomUUID().slice(0, 6);
    const a = await startEngine(redis, { keyPrefix, ...extra });
    const b = await startEngine(redis, { keyPrefix, ...extra });
    open.push(a.e, b.e);
    return { a, b, keyPrefix };
  };
  try {
    await t.step(
      "two instances share offsets and deliver every message once, in order",
      async () => {
        const { a, b } = await pair();
        await a.e.join("r");
        await b.e.join("r");
        const acks = [];
        for (let i = 0; i < 10; i++) {
          acks.push(await (i % 2 ? b.e : a.e).publish(draft("r", `m${i}`)));
        }
        assert.deepEqual(acks.map((r) => r.status === "accepted" && r.message.offset), [
          1,
          2,
          3,
          4,
          5,
          6,
          7,
          8,
          9,
          10,
        ]);
        await eventually(
          "both received 10",
          () => a.received.length >= 10 && b.received.length >= 10,
        );
        for (const { received } of [a, b]) {
          assert.deepEqual(received.map((m) => m.offset), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
          assert.deepEqual(received.map((m) => m.text), acks.map((_, i) => `m${i}`));
        }
        assert.deepEqual(a.received.map((m) => m.id), b.received.map((m) => m.id));
        assert.equal(a.e.position("r")?.offset, 10);
      },
    );

    await t.step("leaving and joining again at once keeps the subscription", async () => {
      const { a, b } = await pair();
      await a.e.join("j");
      a.e.leave("j");
      await a.e.join("j");
      await b.e.publish(draft("j", "after rejoin"));
      await eventually("a got it", () => a.received.length === 1);
      assert.equal(a.received[0].text, "after rejoin");
    });

    await t.step("a ref is deduplicated across instances", async () => {
      const { a, b } = await pair();
      const first = await a.e.publish(draft("r", "x", { client: "cl-1", ref: "r1" }));
      const again = await b.e.publish(draft("r", "x", { client: "cl-1", from: "c9", ref: "r1" }));
      assert.equal(first.status, "accepted");
      assert.equal(again.status, "duplicate");
      if (first.status !== "accepted" || again.status !== "duplicate") return;
      assert.equal(again.offset, first.message.offset);
      assert.equal(again.ts, first.message.ts);
      const other = await b.e.publish(draft("r", "y", { client: "cl-2", ref: "r1" }));
      assert.equal(other.status, "accepted");
    });

    await t.step(
      "recover replays after since in the same epoch, else the recent ones",
      async () => {
        const { a, b } = await pair();
        for (let i = 1; i <= 5; i++) await a.e.publish(draft("r", `m${i}`));
        const start = await b.e.recover("r", null, 2);
        assert.equal(start.offset, 5);
        assert.equal(start.recovered, false);
        assert.deepEqual(start.history.map((m) => m.text), ["m4", "m5"]);
        const resumed = await b.e.recover("r", { since: 2, epoch: start.epoch }, 2);
        assert.equal(resumed.recovered, true);
        assert.deepEqual(resumed.history.map((m) => m.offset), [3, 4, 5]);
        const upToDate = await b.e.recover("r", { since: 5, epoch: start.epoch }, 2);
        assert.deepEqual([upToDate.recovered, upToDate.history.length], [true, 0]);
        const otherEpoch = await b.e.recover("r", { since: 2, epoch: "nope" }, 2);
        assert.equal(otherEpoch.recovered, false);
        assert.deepEqual(otherEpoch.history.map((m) => m.offset), [4, 5]);
        const ahead = await b.e.recover("r", { since: 9, epoch: start.epoch }, 1);
        assert.equal(ahead.recovered, false);
      },
    );

    await t.step(
      "the stream is capped; a gap older than HISTORY_SIZE is not recovered",
      async () => {
        const { a, keyPrefix } = await pair({ historySize: 10 });
        for (let i = 1; i <= 350; i++) await a.e.publish(draft("r", `m${i}`));
        const len = Number(await redis.command("XLEN", `${keyPrefix}:{r}:stream`));
        assert.ok(len >= 100 && len < 350, `stream length ${len}`);
        const first = await a.e.recover("r", null, 0);
        const old = await a.e.recover("r", { since: 300, epoch: first.epoch }, 10);
        assert.equal(old.recovered, false);
        assert.equal(old.history.length, 10);
        const near = await a.e.recover("r", { since: 345, epoch: first.epoch }, 10);
        assert.equal(near.recovered, true);
        assert.deepEqual(near.history.map((m) => m.offset), [346, 347, 348, 349, 350]);
      },
    );

    await t.step("losing the offset or the stream starts a new epoch", async () => {
      const { a, b, keyPrefix } = await pair();
      await b.e.join("r");
      for (let i = 1; i <= 3; i++) await a.e.publish(draft("r", `m${i}`));
      const before = await a.e.recover("r", null, 0);
      await redis.command("DEL", `${keyPrefix}:{r}:offset`);
      const after = await a.e.publish(draft("r", "fresh"));
      assert.ok(after.status === "accepted");
      assert.notEqual(after.message.id.split("-")[0], before.epoch);
      assert.equal(after.message.offset, 1);
      await eventually("b got the new epoch's message", () => b.received.length === 4);
      assert.deepEqual(b.received.map((m) => m.text), ["m1", "m2", "m3", "fresh"]);
      await redis.command("DEL", `${keyPrefix}:{r}:stream`);
      const third = await a.e.recover("r", { since: 1, epoch: after.message.id.split("-")[0] }, 5);
      assert.equal(third.recovered, false);
      assert.equal(third.offset, 0);
    });

    await t.step(
      "presence sums instances and forgets an instance that stops refreshing",
      async () => {
        const { a, b, keyPrefix } = await pair({ presenceTtlMs: 600 });
        await a.e.join("p");
        await b.e.join("p");
        a.e.online("p", 2);
        b.e.online("p", 3);
        await eventually("b sees a's 2", () => b.e.online("p", 3) === 5);
        await eventually("a sees b's 3", () => a.e.online("p", 2) === 5);
        await eventually(
          "a is told that other instances changed the count",
          () => a.presence.includes("p"),
        );
        const told = b.presence.length;
        // A dead instance: its entry is never refreshed.
        const [sec] = await redis.command("TIME") as string[];
        const expires = Number(sec) * 1000 + 1500;
        await redis.command("HSET", `${keyPrefix}:{p}:presence`, "dead", `4:${expires}`);
        await eventually("b counts the other instance", () => b.e.online("p", 3) === 9);
        await eventually("b forgets it after its ttl", () => b.e.online("p", 3) === 5, 6000);
        assert.ok(b.presence.length > told, "b is told when the dead instance appears and expires");
        a.e.leave("p");
        await eventually("b forgets a after it left", () => b.e.online("p", 3) === 3);
      },
    );

    await t.step(
      "members: a dead instance's are listed until its presence expires, then deleted",
      async () => {
        const { b, keyPrefix } = await pair({ presenceTtlMs: 600 });
        await b.e.join("g");
        b.e.memberJoined("g", { id: "b1", name: "Bo", client: null });
        // A dead instance: its entry and its members are never refreshed.
        const [sec, usec] = await redis.command("TIME") as string[];
        const expires = Number(sec) * 1000 + Math.floor(Number(usec) / 1000) + 1000;
        const ghost = { id: "x1", name: "Ghost", client: "pubGhost" };
        await redis.command("HSET", `${keyPrefix}:{g}:presence`, "dead", `1:${expires}`);
        await redis.command("HSET", `${keyPrefix}:{g}:members:dead`, "x1", JSON.stringify(ghost));
        const listed = (await b.e.members("g", 10, 1)).members;
        assert.deepEqual(listed, [{ id: "b1", name: "Bo", client: null }, ghost]);
        await eventually("b counts it", () => b.e.online("g", 1) === 2);
        // Polled every 20 ms for at most 3 s: listed until the entry's time, not after.
        const deadline = Date.now() + 3000;
        while ((await b.e.members("g", 10, 1)).members.length === 2 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const gone = Date.now();
        assert.ok(
          gone >= expires - 50,
          `listed until its entry expired (${expires - gone} ms early)`,
        );
        assert.ok(gone <= expires + 1000, `gone ${gone - expires} ms after its entry expired`);
        assert.equal(b.e.online("g", 1), 1, "nor counted");
        // b's next tick (200 ms apart) drops the expired entry and deletes its members.
        const hash = `${keyPrefix}:{g}:members:dead`;
        for (let i = 0; i < 100 && await redis.command("EXISTS", hash) !== 0; i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.equal(await redis.command("EXISTS", hash), 0, "the dead instance's hash is deleted");
        assert.equal(await redis.command("HEXISTS", `${keyPrefix}:{g}:presence`, "dead"), 0);
      },
    );

    await t.step("members: what Redis lost of an instance's members is written again", async () => {
      const { a, b, keyPrefix } = await pair({ presenceTtlMs: 600 });
      await a.e.join("w");
      const ann = { id: "a1", name: "Ann", client: "pubAnn", user: "ann" };
      const al = { id: "a2", name: null, client: null };
      a.e.memberJoined("w", ann);
      a.e.memberJoined("w", al);
      /** Polls b's list of room w until it is `want`, within 3 s (a few ticks of 200 ms). */
      const bLists = async (want: object[]) => {
        let listed = (await b.e.members("w", 10, 1)).members;
        for (let i = 0; i < 150 && JSON.stringify(listed) !== JSON.stringify(want); i++) {
          await new Promise((r) => setTimeout(r, 20));
          listed = (await b.e.members("w", 10, 1)).members;
        }
        assert.deepEqual(listed, want);
      };
      await bLists([ann, al]);
      const key = `${keyPrefix}:{w}:members:${a.e.instanceId}`;
      // Redis loses the hash (a restart, an eviction): the next tick counts 0 of 2 members and
      // the one after writes them whole.
      await redis.command("DEL", key);
      assert.deepEqual((await b.e.members("w", 10, 1)).members, []);
      await bLists([ann, al]);
      // Lost again, and a change comes along: the change alone does not make up the list.
      await redis.command("DEL", key);
      a.e.memberLeft("w", al.id);
      await bLists([ann]);
    });

    await t.step("members: reading the list refreshes the other instances' count", async () => {
      // Ticks 20 s apart: only the 50 ms tick after a change runs during the step.
      const { a, b, keyPrefix } = await pair({ presenceTtlMs: 60_000 });
      await a.e.join("o");
      a.e.memberJoined("o", { id: "a1", name: null, client: null });
      a.e.memberJoined("o", { id: "a2", name: null, client: null });
      const key = `${keyPrefix}:{o}:members:${a.e.instanceId}`;
      for (let i = 0; i < 100 && await redis.command("HLEN", key) !== 2; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await b.e.join("o");
      assert.equal((await b.e.members("o", 10, 1)).members.length, 2);
      assert.equal(b.e.online("o", 1), 3, "b counts a's two without waiting for its tick");
      assert.deepEqual(b.presence, ["o"], "and tells its hub");
    });

    await t.step("a message lost on pub/sub is read from the stream by the tick", async () => {
      const { a, b, keyPrefix } = await pair({ presenceTtlMs: 600 });
      await a.e.join("l");
      a.e.online("l", 1);
      await b.e.publish(draft("l", "one"));
      await eventually("a got one", () => a.received.length === 1);
      // Append offset 2 to the stream without publishing it on the channel.
      const body = JSON.stringify({ from: "cx", client: null, name: null, text: "lost" });
      await redis.command(
        "EVAL",
        "local o = redis.call('INCR', KEYS[1]); " +
          "redis.call('XADD', KEYS[2], o .. '-0', 'd', ARGV[1], 't', '1'); return o",
        "2",
        `${keyPrefix}:{l}:offset`,
        `${keyPrefix}:{l}:stream`,
        body,
      );
      await eventually("a caught up", () => a.received.length === 2, 5000);
      assert.deepEqual(a.received.map((m) => [m.offset, m.text]), [[1, "one"], [2, "lost"]]);
      await b.e.publish(draft("l", "three"));
      await eventually("a got three", () => a.received.length === 3);
      assert.equal(a.received[2].offset, 3);
    });

    await t.step(
      "after its pub/sub connection is cut, an instance catches up in order",
      async () => {
        const { a, b } = await pair();
        await a.e.join("k");
        await redis.command("CLIENT", "KILL", "TYPE", "pubsub");
        const sent: string[] = [];
        for (let i = 0; i < 20; i++) {
          sent.push(`k${i}`);
          await b.e.publish(draft("k", `k${i}`));
        }
        await eventually("a got all 20", () => a.received.length >= 20);
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(a.received.map((m) => m.text), sent);
        assert.deepEqual(a.received.map((m) => m.offset), sent.map((_, i) => i + 1));
      },
    );

    await t.step(
      "redis down: publish rejects fast, healthy is false, then it resumes",
      async () => {
        const { a, b } = await pair();
        await b.e.join("d");
        await a.e.publish(draft("d", "before"));
        await redis.stop();
        await eventually("unhealthy", () => !a.e.healthy);
        const started = Date.now();
        await assert.rejects(a.e.publish(draft("d", "during")));
        assert.ok(Date.now() - started < 3000, "publish must fail within the command timeout");
        await redis.restart();
        await eventually("healthy again", () => a.e.healthy && b.e.healthy, 8000);
        const ok = await a.e.publish(draft("d", "after"));
        assert.equal(ok.status, "accepted");
        await eventually("b got it", () => b.received.some((m) => m.text === "after"));
        assert.deepEqual(b.received.map((m) => m.text), ["before", "after"]);
      },
    );
  } finally {
    await Promise.all(open.map((e) => e.close()));
    await redis.stop();
  }
});
