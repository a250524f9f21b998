import assert from "node:assert/strict";
import { forwardEvents } from "../../../lib/web/chat/use_fanout_client.ts";
import type { ChatEvent } from "../../../lib/web/chat/types.ts";
import type { ServerLimits } from "../../../lib/client/client.ts";
import { fakeClient } from "../../helpers/fake_socket.ts";

/** A client wired to the island's forwarding, with its deferred calls on the fake clock. */
function islandClient() {
  const t = fakeClient({ random: () => 1, backoff: { baseMs: 2_000, capMs: 2_000 } });
  const events: ChatEvent[] = [];
  const limits: ServerLimits[] = [];
  forwardEvents(t.client, {
    event: (e) => events.push(e),
    pending: () => {},
    limits: (l) => limits.push(l),
  }, (fn) => t.clock.setTimer(fn, 0));
  return { ...t, events, limits };
}

Deno.test("island: the ping after a welcome measures the RTT at once", () => {
  const t = islandClient();
  const socket = t.goOnline();
  assert.equal(socket.frames("ping").length, 0, "the probe waits for the welcome's listeners");
  assert.deepEqual(t.limits, [{ maxMessageBytes: 1000, rateLimit: 20, rateBurst: 40 }]);
  t.clock.advance(0);
  const [ping] = socket.frames("ping");
  t.clock.advance(30);
  socket.receive({ type: "pong", t: ping.t });
  assert.deepEqual(t.events.filter((e) => e.type === "rtt"), [{ type: "rtt", ms: 30 }]);
  t.client.disconnect();
});

Deno.test("island: a socket that closes before the post-welcome ping keeps its backoff wait", () => {
  const t = islandClient();
  t.goOnline().serverClose(1006);
  assert.equal(t.client.state, "reconnecting");
  assert.deepEqual(t.clock.remaining(), [0, 2_000], "the deferred ping and the retry timer");
  t.clock.advance(0); // the island's post-welcome call runs now
  assert.equal(t.net.sockets.length, 1, "no new socket before the backoff wait is over");
  assert.equal(t.client.state, "reconnecting");
  t.clock.advance(1_999);
  assert.equal(t.net.sockets.length, 1);
  t.clock.advance(1);
  assert.equal(t.net.sockets.length, 2, "the retry comes when the wait is over");
  t.client.disconnect();
});
