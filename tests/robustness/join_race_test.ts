/**
 * A client may send before its welcome arrives. With an engine whose `recover` takes time (Redis),
 * its own message is published while it is still joining: it must be acknowledged, reach the
 * others, and never be echoed back to the sender.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../../lib/shared/config.ts";
import type { Engine } from "../../lib/engine/engine.ts";
import { Hub } from "../../lib/hub/hub.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { MemoryEngine } from "../../lib/engine/memory/memory_engine.ts";
import { FakeSocket } from "../helpers/fake_hub.ts";

/**
 * The memory engine, with `recover` answered only when the test releases it; `snapshotFirst`
 * takes the room's position before the release (so later messages are live, not history).
 */
function slowRecoverEngine(
  inner: MemoryEngine,
  snapshotFirst: boolean,
): { engine: Engine; release: () => void } {
  let release = () => {};
  const gate = new Promise<void>((r) => release = r);
  const engine: Engine = {
    name: "slow-recover",
    healthy: true,
    start: (events) => inner.start(events),
    publish: (draft) => inner.publish(draft),
    join: (room) => inner.join(room),
    leave: (room) => inner.leave(room),
    recover: async (room, resume, recent) => {
      const early = snapshotFirst ? await inner.recover(room, resume, recent) : null;
      await gate;
      return early ?? inner.recover(room, resume, recent);
    },
    online: (room, local) => inner.online(room, local),
    memberJoined: (room, member) => inner.memberJoined(room, member),
    memberLeft: (room, id) => inner.memberLeft(room, id),
    members: (room, limit, local) => inner.members(room, limit, local),
    roomCount: () => inner.roomCount(),
    admission: () => "known" as const,
    roomNames: () => inner.roomNames(),
    position: (room) => inner.position(room),
    maintain: (now) => inner.maintain(now),
    close: () => inner.close(),
    command: (cmd) => inner.command(cmd),
  };
  return { engine, release };
}

for (const snapshotFirst of [true, false]) {
  const path = snapshotFirst ? "live" : "history";
  Deno.test(`join race (${path}): a message sent before the welcome is not echoed to its sender`, async () => {
    const config = loadConfig({ PRESENCE_INTERVAL_MS: "0" });
    const inner = new MemoryEngine(config);
    const { engine, release } = slowRecoverEngine(inner, snapshotFirst);
    const hub = new Hub({ config, engine, logger: silentLogger });
    await engine.start(hub.events);
    const handshake = { room: "race", name: null, client: null, resume: null };
    const settle = () => new Promise((r) => setTimeout(r, 5));
    const otherSocket = new FakeSocket();
    const other = hub.attach(otherSocket, handshake, true, null);
    const earlySocket = new FakeSocket();
    const early = hub.attach(earlySocket, handshake, true, null);
    const opening = [otherSocket.open(), earlySocket.open()];
    await settle();
    // The sender's frame arrives while both are still joining.
    hub.receive(early, JSON.stringify({ type: "message", text: "too early", ref: "e1" }));
    await settle();
    release();
    await Promise.all(opening);
    await settle();
    /** Texts a socket got, in its welcome's history or as live messages. */
    const texts = (socket: FakeSocket) =>
      socket.objects().flatMap((f) =>
        f.type === "welcome"
          ? f.history.map((m: { text: string }) => m.text)
          : f.type === "message"
          ? [f.text]
          : []
      );
    assert.equal(earlySocket.objects()[0].type, "welcome");
    assert.deepEqual(texts(earlySocket), [], "the sender never gets its own message");
    const acks = earlySocket.objects().filter((f) => f.type === "ack" && f.ref === "e1");
    assert.equal(acks.length, 1);
    assert.deepEqual(texts(otherSocket), ["too early"], "the others get it once");
    for (const c of [other, early]) {
      c.close(1000, "done");
      hub.remove(c);
    }
    await settle();
  });
}
