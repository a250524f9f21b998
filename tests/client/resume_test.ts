import assert from "node:assert/strict";
import { fakeClient, messageFrame, MY_PUBLIC_ID, welcomeFrame } from "../helpers/fake_socket.ts";

Deno.test("resume: the first connection sends room, name and client but no resume position", () => {
  const t = fakeClient({ name: "Ann", room: "dev" });
  t.client.connect();
  const q = t.net.last.query;
  assert.deepEqual(
    [q.get("room"), q.get("name"), q.get("client"), q.get("since"), q.get("epoch")],
    ["dev", "Ann", "myclient1", null, null],
  );
  assert.deepEqual(t.net.last.protocols, ["fanout.v1"]);
  t.client.disconnect();
});

Deno.test("resume: reconnects with since = last offset seen and the epoch", () => {
  const t = fakeClient();
  const socket = t.goOnline({
    epoch: "e1",
    offset: 4,
    history: [messageFrame(3), messageFrame(4)],
  });
  socket.receive(messageFrame(5), messageFrame(6));
  socket.serverClose(1006);
  t.clock.advance(1000);
  assert.equal(t.net.last.query.get("since"), "6");
  assert.equal(t.net.last.query.get("epoch"), "e1");
  t.client.disconnect();
});

Deno.test("resume: a fresh join's history shows own messages flagged `own`; live ones never", () => {
  const t = fakeClient();
  const socket = t.goOnline({
    history: [messageFrame(1, { client: MY_PUBLIC_ID }), messageFrame(2)],
    offset: 2,
  });
  socket.receive(messageFrame(3, { client: MY_PUBLIC_ID }), messageFrame(4));
  assert.deepEqual(t.of("message").map((m) => [m.offset, m.own]), [
    [1, true],
    [2, false],
    [4, false],
  ]);
  assert.equal(t.of("message")[0].client, MY_PUBLIC_ID);
  socket.serverClose(1006);
  t.clock.advance(1000);
  assert.equal(t.net.last.query.get("since"), "4", "own messages still move `since`");
  // A resumed join: an own message in its history (an older server) is left out.
  t.net.last.open();
  t.net.last.receive(
    welcomeFrame({
      offset: 6,
      recovered: true,
      history: [messageFrame(5, { client: MY_PUBLIC_ID }), messageFrame(6)],
    }),
  );
  assert.deepEqual(t.of("message").map((m) => m.offset), [1, 2, 4, 6]);
  t.client.disconnect();
});

Deno.test("resume: after a room switch the fresh join shows own messages again", () => {
  const t = fakeClient();
  t.goOnline({ offset: 3 });
  t.client.setRoom("other");
  t.net.last.open();
  t.net.last.receive(
    welcomeFrame({
      room: "other",
      offset: 1,
      history: [messageFrame(1, { client: MY_PUBLIC_ID, room: "other" })],
    }),
  );
  assert.deepEqual(t.of("message").map((m) => [m.offset, m.own]), [[1, true]]);
  t.client.disconnect();
});

Deno.test("resume: duplicates by (epoch, offset) are dropped across reconnects", () => {
  const t = fakeClient();
  const first = t.goOnline({ offset: 2, history: [messageFrame(1), messageFrame(2)] });
  first.receive(messageFrame(3));
  first.receive(messageFrame(3)); // duplicate on the same connection
  first.serverClose(1006);
  t.clock.advance(1000);
  const second = t.net.last;
  second.open();
  // A server replaying too much: 2 and 3 again, then 4.
  second.receive(
    welcomeFrame({
      offset: 4,
      recovered: true,
      history: [messageFrame(2), messageFrame(3), messageFrame(4)],
    }),
  );
  assert.deepEqual(t.of("message").map((m) => m.offset), [1, 2, 3, 4]);
  assert.deepEqual(t.of("gap"), [], "a recovered resume is no gap");
  assert.deepEqual(t.of("welcome").map((w) => [w.resumed, w.recovered]), [
    [false, false],
    [true, true],
  ]);
  t.client.disconnect();
});

Deno.test("resume: a new epoch (server restart) emits a gap and delivers the new history", () => {
  const t = fakeClient();
  const first = t.goOnline({ epoch: "e1", offset: 5 });
  first.serverClose(1012, "server restarting");
  t.clock.advance(1000);
  t.net.last.open();
  t.net.last.receive(
    welcomeFrame({
      epoch: "e2",
      offset: 1,
      history: [messageFrame(1, { id: "e2-1", text: "fresh" })],
    }),
  );
  assert.deepEqual(t.of("gap"), [{ room: "lobby", previousEpoch: "e1", epoch: "e2", since: 5 }]);
  assert.deepEqual(t.of("message").map((m) => m.text), ["fresh"], "offset 1 of e2 is new");
  assert.ok(
    t.events.findIndex((e) => e.type === "gap") < t.events.findIndex((e) => e.type === "message"),
    "the gap comes before the replayed history",
  );
  t.clock.advance(0);
  t.net.last.serverClose(1006);
  t.clock.advance(1000);
  assert.equal(t.net.last.query.get("epoch"), "e2");
  assert.equal(t.net.last.query.get("since"), "1");
  t.client.disconnect();
});

Deno.test("resume: recovered:false with the same epoch (gap too old) is a gap too", () => {
  const t = fakeClient();
  t.goOnline({ epoch: "e1", offset: 5 }).serverClose(1006);
  t.clock.advance(1000);
  t.net.last.open();
  t.net.last.receive(welcomeFrame({ offset: 900, history: [messageFrame(900)] }));
  assert.deepEqual(t.of("gap"), [{ room: "lobby", previousEpoch: "e1", epoch: "e1", since: 5 }]);
  assert.deepEqual(t.of("message").map((m) => m.offset), [900]);
  t.client.disconnect();
});

Deno.test("resume: a welcome of the same epoch below what was seen forgets the offsets above it", () => {
  const t = fakeClient();
  const first = t.goOnline({ epoch: "e1", offset: 3, history: [messageFrame(3)] });
  first.receive(messageFrame(4, { text: "old 4" }), messageFrame(5, { text: "old 5" }));
  first.serverClose(1012, "server restarting");
  t.clock.advance(1000);
  t.net.last.open();
  // The room's log went back to 3 in the same epoch (every server restarted from an older
  // snapshot): offsets 4 and 5 now name new messages.
  t.net.last.receive(welcomeFrame({ offset: 3, history: [messageFrame(3)] }));
  t.net.last.receive(messageFrame(4, { text: "new 4" }), messageFrame(5, { text: "new 5" }));
  assert.deepEqual(t.of("message").map((m) => m.text).slice(-2), ["new 4", "new 5"]);
  assert.equal(t.of("message").filter((m) => m.offset === 3).length, 1, "3 is still a duplicate");
  t.client.disconnect();
});

Deno.test("resume: presence updates `online` and is passed on without its type", () => {
  const t = fakeClient();
  const socket = t.goOnline({ online: 2 });
  assert.equal(t.client.online, 2);
  socket.receive({ type: "presence", online: 3, joined: { id: "c7", name: "Cy" } });
  assert.equal(t.client.online, 3);
  assert.deepEqual(t.of("presence"), [{ online: 3, joined: { id: "c7", name: "Cy" } }]);
  t.client.disconnect();
});
