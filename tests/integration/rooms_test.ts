/**
 * Many rooms on one connection over real sockets: the client core follows three rooms, is cut,
 * and resumes each (recovered, nothing lost or repeated); a room the token does not grant is
 * refused without touching the others; unsubscribe stops delivery at once.
 */
import assert from "node:assert/strict";
import { FanoutClient } from "../../lib/client/client.ts";
import { waitForEvent } from "../helpers/client_events.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { hsToken, TEST_SECRET } from "../helpers/tokens.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions(
  "rooms: three rooms resume after a cut, each recovered, nothing twice",
  async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const reader = new FanoutClient({ url, room: "r1" });
    const got = new Map<string, number[]>();
    reader.on("message", (m) => got.set(m.room, [...(got.get(m.room) ?? []), m.offset]));
    const writer = await TestClient.join(srv.wsUrl({ room: "r1" }));
    try {
      reader.subscribe("r2");
      reader.subscribe("r3");
      const online = waitForEvent(reader, "subscribed", (s) => s.room === "r3");
      reader.connect();
      await online;
      writer.client.send({ type: "subscribe", room: "r2" });
      writer.client.send({ type: "subscribe", room: "r3" });
      await writer.client.next((f) => f.type === "subscribed" && f.room === "r3");
      const have = async (n: number) => {
        const deadline = Date.now() + 5000;
        while (!["r1", "r2", "r3"].every((room) => (got.get(room)?.length ?? 0) >= n)) {
          if (Date.now() > deadline) throw new Error(`got ${JSON.stringify([...got])}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      const post = async (room: string, text: string) => {
        writer.client.send({ type: "message", room, text, ref: `${room}-${text}` });
        await writer.client.next((f) => f.type === "ack" && f.ref === `${room}-${text}`);
      };
      for (const room of ["r1", "r2", "r3"]) await post(room, "a");
      await have(1);
      // Cut the reader; the writer goes on in every room meanwhile.
      const recovered = Promise.all(
        ["r2", "r3"].map((room) =>
          waitForEvent(reader, "subscribed", (s) => s.room === room && s.resumed)
        ),
      );
      const welcomed = waitForEvent(reader, "welcome", (w) => w.resumed);
      reader.disconnect();
      for (const room of ["r1", "r2", "r3"]) await post(room, "b");
      reader.connect();
      const w = await welcomed;
      assert.equal(w.recovered, true);
      for (const s of await recovered) assert.equal(s.recovered, true, s.room);
      await have(2);
      await new Promise((r) => setTimeout(r, 100));
      for (const room of ["r1", "r2", "r3"]) assert.deepEqual(got.get(room), [1, 2], room);
    } finally {
      reader.disconnect();
      await reader.whenClosed();
      await writer.client.close();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "rooms: a refused grant does not touch the others; unsubscribe stops at once",
  async () => {
    const srv = await startTestServer({ AUTH_SECRET: TEST_SECRET });
    try {
      const token = await hsToken({ sub: "ann", rooms: { lobby: "rw", news: "r" } });
      const { client: ann } = await TestClient.join(srv.wsUrl({ room: "lobby", token }));
      const writerToken = await hsToken({ sub: "ed", rooms: { "*": "rw" } });
      const { client: ed } = await TestClient.join(srv.wsUrl({ room: "news", token: writerToken }));
      ann.send({ type: "subscribe", room: "secret", ref: "s1" });
      ann.send({ type: "subscribe", room: "news", ref: "s2" });
      const refused = await ann.next((f) => f.type === "error" && f.ref === "s1");
      assert.deepEqual([refused.code, refused.room], ["forbidden", "secret"]);
      const ok = await ann.next((f) => f.type === "subscribed" && f.ref === "s2");
      assert.equal(ok.access, "r");
      ed.send({ type: "message", text: "extra" });
      assert.equal((await ann.next((f) => f.type === "message")).room, "news");
      ann.send({ type: "message", room: "news", text: "me?", ref: "m1" });
      assert.equal((await ann.next((f) => f.ref === "m1")).code, "forbidden");
      ann.send({ type: "unsubscribe", room: "news", ref: "u1" });
      await ann.next((f) => f.type === "unsubscribed" && f.ref === "u1");
      ed.send({ type: "message", text: "after" });
      assert.deepEqual((await ann.quietFor(200)).filter((f) => f.type === "message"), []);
      await ann.close();
      await ed.close();
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions(
  "rooms: subscribes hold the per-address new-room rate and MAX_ROOMS",
  async () => {
    const srv = await startTestServer({ NEW_ROOMS_PER_MINUTE_PER_IP: "3" });
    try {
      // The handshake brings room n0 into existence: one of the address's three new rooms.
      const { client } = await TestClient.join(srv.wsUrl({ room: "n0" }));
      for (const room of ["n1", "n2", "n3"]) {
        client.send({ type: "subscribe", room, ref: room });
      }
      const answers = new Map<string, string>();
      for (let i = 0; i < 3; i++) {
        const f = await client.next((x) => x.ref !== undefined && x.ref.startsWith("n"));
        answers.set(f.ref, f.type === "error" ? f.code : f.type);
      }
      assert.deepEqual(
        [answers.get("n1"), answers.get("n2"), answers.get("n3")],
        ["subscribed", "subscribed", "rate_limited"],
      );
      await client.close();
    } finally {
      await srv.stop();
    }
  },
);

testWithPermissions(
  "rooms: switchRoom keeps the socket; the old room stops, the new one delivers both ways",
  async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const reader = new FanoutClient({ url, room: "s1", name: "Rea" });
    const { client: one } = await TestClient.join(srv.wsUrl({ room: "s1", name: "One" }));
    const { client: two } = await TestClient.join(srv.wsUrl({ room: "s2", name: "Two" }));
    const got: string[] = [];
    reader.on("message", (m) => got.push(`${m.room}:${m.text}`));
    try {
      const first = waitForEvent(reader, "welcome", (w) => w.room === "s1");
      reader.connect();
      const id = (await first).id;
      two.send({ type: "message", text: "before", ref: "b" });
      await two.next((f) => f.type === "ack");
      const second = waitForEvent(reader, "welcome", (w) => w.room === "s2");
      reader.switchRoom("s2");
      const joined = await second;
      assert.equal(joined.id, id, "the same connection");
      assert.deepEqual(got, ["s2:before"], "the new room's history");
      // The server took the reader out of s1 (its join and leave may come as one batch).
      await one.next((f) => f.type === "presence" && (f.left?.name === "Rea" || f.leaves === 1));
      assert.equal(one.ofType("presence").at(-1).online, 1);
      // s1 no longer reaches the reader; s2 reaches it, and it reaches s2.
      one.send({ type: "message", text: "old room", ref: "o" });
      await one.next((f) => f.type === "ack");
      const live = waitForEvent(reader, "message", (m) => m.text === "new room");
      two.send({ type: "message", text: "new room", ref: "n" });
      await live;
      const ref = reader.send("from the reader");
      const acked = waitForEvent(reader, "ack", (a) => a.ref === ref);
      const heard = await two.next((f) => f.type === "message" && f.text === "from the reader");
      assert.deepEqual([heard.room, heard.name], ["s2", "Rea"]);
      await acked;
      assert.deepEqual(got, ["s2:before", "s2:new room"]);
      assert.deepEqual(one.ofType("message").map((m) => m.text), [], "nothing in s1");
    } finally {
      reader.disconnect();
      await reader.whenClosed();
      await one.close();
      await two.close();
      await srv.stop();
    }
  },
);

testWithPermissions("rooms: a subscribe to a new room past MAX_ROOMS is unavailable", async () => {
  const srv = await startTestServer({ MAX_ROOMS: "2" });
  try {
    const { client } = await TestClient.join(srv.wsUrl({ room: "m0" }));
    client.send({ type: "subscribe", room: "m1", ref: "a" });
    assert.equal((await client.next((f) => f.ref === "a")).type, "subscribed");
    client.send({ type: "subscribe", room: "m2", ref: "b" });
    const full = await client.next((f) => f.ref === "b");
    assert.deepEqual([full.type, full.code, full.room], ["error", "unavailable", "m2"]);
    await client.close();
  } finally {
    await srv.stop();
  }
});
