import assert from "node:assert/strict";
import { type ClientEvents, FanoutClient } from "../lib/client.ts";
import { startTestServer } from "./helpers/server.ts";

function waitFor<K extends keyof ClientEvents>(
  client: FanoutClient,
  type: K,
  match: (event: ClientEvents[K]) => boolean = () => true,
  timeoutMs = 3000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.on(type, (event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

Deno.test("live: two clients on a real server exchange messages once, without echo", async () => {
  const srv = await startTestServer();
  const url = srv.wsUrl().split("?")[0];
  const a = new FanoutClient({ url, room: "live", name: "Ann" });
  const b = new FanoutClient({ url, room: "live", name: "Bob" });
  const gotA: string[] = [];
  const gotB: string[] = [];
  a.on("message", (m) => gotA.push(m.text));
  b.on("message", (m) => gotB.push(m.text));
  try {
    const onlineA = waitFor(a, "state", (s) => s.state === "online");
    a.connect();
    await onlineA;
    const onlineB = waitFor(b, "welcome");
    b.connect();
    await onlineB;
    const allAcked = waitFor(a, "outbox", (o) => o.items.length === 0);
    const lastArrived = waitFor(b, "message", (m) => m.text === "three");
    for (const text of ["one", "two", "three"]) a.send(text);
    await allAcked;
    await lastArrived;
    assert.deepEqual(gotB, ["one", "two", "three"]);
    assert.deepEqual(gotA, [], "never an echo of one's own messages");
    assert.ok(a.rttMs === null || a.rttMs >= 0);
  } finally {
    a.disconnect();
    b.disconnect();
    await Promise.all([a.whenClosed(), b.whenClosed()]);
    await srv.stop();
  }
});
