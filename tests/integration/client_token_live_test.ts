/**
 * The client core against a real server in auth mode, with real short-lived tokens: one client
 * crosses several refreshes while messages flow; another has its refreshes refused, lets its
 * token expire (4401) and comes back through getToken() with a resume; a third with a token that
 * does not grant the room is refused (403) and never retries. Every acknowledged message arrives
 * exactly once at every other client.
 */
import assert from "node:assert/strict";
import { FanoutClient } from "../../lib/client/client.ts";
import { waitForEvent } from "../helpers/client_events.ts";
import { startTestServer } from "../helpers/server.ts";
import { hsToken, TEST_SECRET } from "../helpers/tokens.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const sec = () => Math.floor(Date.now() / 1000);

testWithPermissions(
  "live auth: refreshes, an expiry and a refusal; every acked message once",
  async () => {
    const srv = await startTestServer({ AUTH_SECRET: TEST_SECRET });
    const url = srv.wsUrl().split("?")[0];
    const rooms = { live: "rw" };
    // Ann: 3-second tokens, refreshed 1.5 s ahead.
    const ann = new FanoutClient({
      url,
      room: "live",
      getToken: () => hsToken({ sub: "ann", rooms, exp: sec() + 3 }),
      refreshAheadMs: 1500,
    });
    // Bob: 2-second tokens at connect; his refreshes come back for another user and are refused.
    let bobCalls = 0;
    let bobConnects = 0;
    const bob: FanoutClient = new FanoutClient({
      url,
      room: "live",
      getToken: (): Promise<string> => {
        bobCalls++;
        return hsToken({ sub: bob.state === "online" ? "mallory" : "bob", rooms, exp: sec() + 2 });
      },
      refreshAheadMs: 1000,
    });
    bob.on("welcome", () => bobConnects++);
    // Carol: a long token; she sends throughout.
    const carol = new FanoutClient({
      url,
      room: "live",
      token: await hsToken({ sub: "carol", rooms, exp: sec() + 600 }),
    });
    const eve = new FanoutClient({
      url,
      room: "live",
      token: await hsToken({ sub: "eve", rooms: { other: "rw" } }),
    });
    const clients = { ann, bob, carol };
    const got = new Map<string, Map<string, number>>();
    const acked = new Map<string, string[]>();
    for (const [name, c] of Object.entries(clients)) {
      const seen = new Map<string, number>();
      got.set(name, seen);
      acked.set(name, []);
      c.on("message", (m) => seen.set(m.text ?? "", (seen.get(m.text ?? "") ?? 0) + 1));
      c.on("ack", (a) => acked.get(name)!.push(a.text ?? ""));
    }
    const refreshes: number[] = [];
    ann.on("refreshed", (r) => refreshes.push(r.expires));
    const expiredCloses: number[] = [];
    bob.on("state", (s) => {
      if (s.closeCode === 4401) expiredCloses.push(s.closeCode);
    });
    try {
      for (const c of Object.values(clients)) {
        const online = waitForEvent(c, "state", (s) => s.state === "online");
        c.connect();
        await online;
      }
      const refused = waitForEvent(eve, "state", (s) => s.state === "refused");
      eve.connect();
      const refusal = await refused;
      assert.equal(refusal.status, 403);
      assert.match(refusal.closeReason!, /does not grant room live/);
      // Messages flow for 6 seconds from all three.
      const until = Date.now() + 6000;
      let n = 0;
      while (Date.now() < until) {
        for (const [name, c] of Object.entries(clients)) c.send(`${name}-${++n}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const c of Object.values(clients)) {
        if (c.outbox.length > 0) await waitForEvent(c, "outbox", (o) => o.items.length === 0, 8000);
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(refreshes.length >= 2, `ann refreshed ${refreshes.length} times`);
      assert.ok(expiredCloses.length >= 1, "bob's token expired at least once");
      assert.ok(bobConnects >= 2, `bob came back (${bobConnects} welcomes, ${bobCalls} tokens)`);
      for (const [sender, texts] of acked) {
        assert.ok(texts.length > 20, `${sender} got ${texts.length} acks`);
        for (const [receiver, seen] of got) {
          if (receiver === sender) continue;
          for (const text of texts) {
            assert.equal(seen.get(text), 1, `${receiver} got ${text} ${seen.get(text) ?? 0} times`);
          }
        }
      }
      assert.equal(eve.state, "refused");
    } finally {
      for (const c of [ann, bob, carol, eve]) c.disconnect();
      await Promise.all([ann, bob, carol, eve].map((c) => c.whenClosed()));
      await srv.stop();
    }
  },
);
