/**
 * Structured payloads over real sockets: `data` of every JSON type reaches JSON-mode members
 * exactly as sent and plain-mode members as compact JSON; history and resume carry it; a resend of
 * its ref is recognised. With Redis, the same across two instances.
 */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";
import { redisBinary, startRedis } from "../helpers/redis.ts";

const VALUES: unknown[] = [
  { order: 42, items: [{ sku: "a-1", qty: 2 }], note: null, ok: true },
  [1, "two", { three: 3 }, [4]],
  'just a string, with "quotes" and ünïcödé',
  -12.5e-3,
  0,
  false,
  null,
];

async function roundTrip(sender: TestServer, receiver: TestServer, room: string) {
  const { client: a } = await TestClient.join(sender.wsUrl({ room }));
  const { client: b } = await TestClient.join(receiver.wsUrl({ room }));
  const plain = await TestClient.connect(receiver.wsUrl({ room }), { json: false });
  try {
    for (const [i, data] of VALUES.entries()) {
      a.send({ type: "message", data, ref: `d${i}` });
      await a.next((f) => f.type === "ack" && f.ref === `d${i}`);
    }
    for (const data of VALUES) {
      const m = await b.next((f) => f.type === "message");
      assert.deepEqual(m.data, data);
      assert.equal("text" in m, false);
      assert.equal(await plain.next(), JSON.stringify(data));
    }
    // A resend of a ref is the first ack again, nothing broadcast twice.
    a.send({ type: "message", data: VALUES[0], ref: "d0" });
    const again = await a.next((f) => f.type === "ack" && f.ref === "d0");
    assert.equal(again.offset, 1);
    assert.deepEqual((await b.quietFor(150)).filter((f) => f.type === "message"), []);
    // History and resume carry data unchanged.
    const { welcome } = await TestClient.join(receiver.wsUrl({ room }));
    assert.deepEqual(welcome.history.map((m: { data: unknown }) => m.data), VALUES);
    const resumed = await TestClient.join(
      receiver.wsUrl({ room, since: "3", epoch: welcome.epoch }),
    );
    assert.equal(resumed.welcome.recovered, true);
    assert.deepEqual(
      resumed.welcome.history.map((m: { data: unknown }) => m.data),
      VALUES.slice(3),
    );
    await resumed.client.close();
  } finally {
    await a.close();
    await b.close();
    await plain.close();
  }
}

testWithPermissions(
  "data: every JSON type round-trips exactly, through history and resume",
  async () => {
    const srv = await startTestServer();
    try {
      await roundTrip(srv, srv, "data");
    } finally {
      await srv.stop();
    }
  },
);

Deno.test({
  name: "data with Redis: published on one instance, exact on the other",
  ignore: redisBinary.ignore,
}, async () => {
  const redis = await startRedis();
  const a = await startTestServer({ REDIS_URL: redis.url });
  const b = await startTestServer({ REDIS_URL: redis.url });
  try {
    await roundTrip(a, b, "data-redis");
  } finally {
    await a.stop();
    await b.stop();
    await redis.stop();
  }
});
