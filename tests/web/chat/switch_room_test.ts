import assert from "node:assert/strict";
import { switchRoom } from "../../../lib/web/chat/use_fanout_client.ts";
import type { ChatEvent } from "../../../lib/web/chat/types.ts";
import { fakeClient } from "../../helpers/fake_socket.ts";

Deno.test("switchRoom: the reducer hears of the switch, with the dropped count, before the client's events", () => {
  const t = fakeClient();
  t.goOnline();
  t.net.last.close(); // a send now waits in the outbox
  t.client.send("for lobby");
  const seen: string[] = [];
  t.client.on("state", (s) => seen.push(`state:${s.state}`));
  t.client.on("outbox", (o) => seen.push(`outbox:${o.items.length}`));
  const dispatched: ChatEvent[] = [];
  const event = (e: ChatEvent) => {
    dispatched.push(e);
    seen.push(e.type);
  };

  assert.equal(switchRoom(t.client, "dev", event), true);
  assert.deepEqual(dispatched, [{ type: "room", room: "dev", discarded: 1 }]);
  assert.equal(seen[0], "room", seen.join(", "));
  assert.ok(seen.includes("outbox:0") && seen.includes("state:connecting"), seen.join(", "));
  assert.equal(t.client.room, "dev");
  t.client.disconnect();
});

Deno.test("switchRoom: the same room or a name the server refuses changes nothing", () => {
  const t = fakeClient();
  const dispatched: ChatEvent[] = [];
  for (const room of ["lobby", "Not OK", "", "x".repeat(65)]) {
    assert.equal(switchRoom(t.client, room, (e) => dispatched.push(e)), false, room);
  }
  assert.deepEqual(dispatched, []);
  assert.equal(t.client.room, "lobby");
});

Deno.test("switchRoom online keeps the socket: the reducer hears of it, the client subscribes", () => {
  const t = fakeClient();
  const socket = t.goOnline();
  const dispatched: ChatEvent[] = [];
  assert.equal(switchRoom(t.client, "dev", (e) => dispatched.push(e)), true);
  assert.deepEqual(dispatched, [{ type: "room", room: "dev", discarded: 0 }]);
  assert.equal(t.net.sockets.length, 1, "no reconnect");
  assert.deepEqual(socket.frames().slice(-2).map((f) => [f.type, f.room]), [
    ["unsubscribe", "lobby"],
    ["subscribe", "dev"],
  ]);
  assert.equal(t.client.room, "dev");
  t.client.disconnect();
});
