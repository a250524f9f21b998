import assert from "node:assert/strict";
import { Op } from "../helpers/masked_frames.ts";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const isMessage = (text: string) => (f: { type: string; text: string }) =>
  f.type === "message" && f.text === text;

testWithPermissions(
  "ws: three clients chat, JSON and plain mode share a room, nothing is echoed",
  async () => {
    const srv = await startTestServer();
    try {
      const { client: ann } = await TestClient.join(srv.wsUrl({ room: "r1", name: "Ann" }));
      const { client: bob } = await TestClient.join(srv.wsUrl({ room: "r1", name: "Bob" }));
      const plain = await TestClient.connect(srv.wsUrl({ room: "r1" }), { json: false });
      assert.equal(plain.ws.protocol, "");
      assert.equal(ann.ws.protocol, "fanout.v1");

      ann.send({ type: "message", text: "hi all", ref: "a1" });
      const ack = await ann.next((f) => f.type === "ack");
      assert.equal(ack.ref, "a1");
      const got = await bob.next(isMessage("hi all"));
      assert.equal(got.name, "Ann");
      assert.equal(got.offset, ack.offset);
      assert.equal(await plain.next((f) => f === "hi all"), "hi all");

      plain.send("plain hello");
      assert.equal((await ann.next(isMessage("plain hello"))).name, null);
      await bob.next(isMessage("plain hello"));

      const quiet = [...(await ann.quietFor(100)), ...(await plain.quietFor(0))];
      assert.equal(
        ann.frames.filter((f) => f.type === "message" && f.text === "hi all").length,
        0,
        "no echo",
      );
      assert.equal(
        plain.frames.filter((f) => f === "plain hello").length,
        0,
        "no echo in plain mode",
      );
      assert.equal(quiet.filter((f) => f?.type === "message").length, 0);
      await Promise.all([ann.close(), bob.close(), plain.close()]);
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions("ws: rooms are isolated", async () => {
  const srv = await startTestServer();
  try {
    const { client: a } = await TestClient.join(srv.wsUrl({ room: "alpha" }));
    const { client: b } = await TestClient.join(srv.wsUrl({ room: "beta" }));
    const { client: a2 } = await TestClient.join(srv.wsUrl({ room: "alpha" }));
    a.send({ type: "message", text: "for alpha" });
    await a2.next(isMessage("for alpha"));
    const leaked = await b.quietFor(150);
    assert.equal(leaked.filter((f) => f.type === "message").length, 0);
    await Promise.all([a.close(), b.close(), a2.close()]);
  } finally {
    await srv.stop();
  }
});

testWithPermissions(
  "ws: a client that reconnects with since+epoch gets exactly what it missed",
  async () => {
    const srv = await startTestServer();
    try {
      const url = (q: Record<string, string> = {}) =>
        srv.wsUrl({ room: "resume", client: "reader-0001", ...q });
      const { client: sender } = await TestClient.join(srv.wsUrl({ room: "resume" }));
      const { client: reader, welcome } = await TestClient.join(url());
      sender.send({ type: "message", text: "seen" });
      const seen = await reader.next(isMessage("seen"));
      await reader.close();
      for (const text of ["missed 1", "missed 2"]) {
        sender.send({ type: "message", text, ref: text });
        await sender.next((f) => f.type === "ack" && f.ref === text);
      }
      const back = await TestClient.join(url({ since: String(seen.offset), epoch: welcome.epoch }));
      assert.equal(back.welcome.recovered, true);
      assert.deepEqual(back.welcome.history.map((m: { text: string }) => m.text), [
        "missed 1",
        "missed 2",
      ]);
      assert.equal(back.welcome.offset, seen.offset + 2);

      const wrong = await TestClient.join(url({ since: "1", epoch: "not-this-one" }));
      assert.equal(wrong.welcome.recovered, false);
      assert.deepEqual(wrong.welcome.history.map((m: { text: string }) => m.text), [
        "seen",
        "missed 1",
        "missed 2",
      ]);
      await Promise.all([sender.close(), back.client.close(), wrong.client.close()]);
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions(
  "ws: resending an unacknowledged ref after a reconnect does not duplicate it",
  async () => {
    const srv = await startTestServer();
    try {
      const url = srv.wsUrl({ room: "idem", client: "writer-0001" });
      const { client: watcher } = await TestClient.join(srv.wsUrl({ room: "idem" }));
      const { client: w1 } = await TestClient.join(url);
      w1.send({ type: "message", text: "exactly once", ref: "m-1" });
      const first = await w1.next((f) => f.type === "ack");
      await w1.close();
      const { client: w2 } = await TestClient.join(url);
      w2.send({ type: "message", text: "exactly once", ref: "m-1" });
      const second = await w2.next((f) => f.type === "ack");
      assert.deepEqual(second, first, "the original ack is returned");
      await watcher.next(isMessage("exactly once"));
      await watcher.quietFor(150);
      assert.equal(watcher.frames.filter((f) => f.type === "message").length, 1);
      await Promise.all([watcher.close(), w2.close()]);
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions(
  "ws: ping gets a pong with the same t, and bad frames an error while the socket stays",
  async () => {
    const srv = await startTestServer();
    try {
      const { client } = await TestClient.join(srv.wsUrl());
      client.send({ type: "ping", t: 42.5 });
      assert.deepEqual(await client.next((f) => f.type === "pong"), { type: "pong", t: 42.5 });
      client.send("{oops");
      assert.equal((await client.next((f) => f.type === "error")).code, "invalid_json");
      client.send({ type: "message", text: "still here", ref: "s" });
      assert.equal((await client.next((f) => f.type === "ack")).ref, "s");
      await client.close();
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions("ws: the transport's own closes are counted by reason", async () => {
  const srv = await startTestServer({ MAX_MESSAGE_BYTES: "1024" });
  try {
    const bad = (await RawWs.connect(srv.server.port, "/ws?room=m", { protocols: ["fanout.v1"] }))
      .ws!;
    await bad.read(); // the welcome
    await bad.sendFrame({ opcode: Op.text, payload: new Uint8Array([0x7b, 0xff, 0x7d]) });
    assert.deepEqual(await bad.read(), {
      kind: "close",
      code: 1007,
      reason: "text message is not valid UTF-8",
    });
    bad.abort();
    const metrics = await (await fetch(srv.httpUrl("/metrics"))).text();
    assert.match(metrics, /fanout_rejected_total\{reason="invalid_utf8"\} 1\n/);
  } finally {
    await srv.stop();
  }
});
