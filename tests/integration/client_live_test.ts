import assert from "node:assert/strict";
import { FanoutClient } from "../../lib/client/client.ts";
import { waitForEvent } from "../helpers/client_events.ts";
import { startTestServer } from "../helpers/server.ts";
import { testWithPermissions } from "../helpers/requires.ts";

testWithPermissions(
  "live: two clients on a real server exchange messages once, without echo",
  async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const a = new FanoutClient({ url, room: "live", name: "Ann" });
    const b = new FanoutClient({ url, room: "live", name: "Bob" });
    const gotA: string[] = [];
    const gotB: string[] = [];
    a.on("message", (m) => gotA.push(m.text ?? ""));
    b.on("message", (m) => gotB.push(m.text ?? ""));
    try {
      const onlineA = waitForEvent(a, "state", (s) => s.state === "online");
      a.connect();
      await onlineA;
      const onlineB = waitForEvent(b, "welcome");
      b.connect();
      await onlineB;
      const allAcked = waitForEvent(a, "outbox", (o) => o.items.length === 0);
      const lastArrived = waitForEvent(b, "message", (m) => m.text === "three");
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
  },
);

/** A real WebSocket whose first connection loses every ack and then drops (like a cut cable). */
function lossyFirstConnection() {
  let connections = 0;
  return class LossySocket {
    onopen: ((e: unknown) => void) | null = null;
    onmessage: ((e: { data: unknown }) => void) | null = null;
    onclose: ((e: { code: number; reason: string }) => void) | null = null;
    onerror: ((e: unknown) => void) | null = null;
    #ws: WebSocket;
    constructor(url: string, protocols?: string | string[]) {
      const lossy = ++connections === 1;
      const ws = this.#ws = new WebSocket(url, protocols);
      ws.onopen = (e) => this.onopen?.(e);
      ws.onmessage = (e) => {
        if (lossy && String(e.data).includes('"type":"ack"')) {
          ws.close(4001, "cut"); // the ack is lost with the connection
          return;
        }
        this.onmessage?.(e);
      };
      ws.onclose = (e) => this.onclose?.({ code: lossy ? 1006 : e.code, reason: "" });
    }
    get readyState() {
      return this.#ws.readyState;
    }
    send(data: string) {
      this.#ws.send(data);
    }
    close(code?: number, reason?: string) {
      this.#ws.close(code, reason);
    }
  };
}

testWithPermissions(
  "live: a message whose ack was lost is resent after reconnect and delivered once",
  async () => {
    const srv = await startTestServer();
    const url = srv.wsUrl().split("?")[0];
    const a = new FanoutClient({
      url,
      room: "lossy",
      WebSocket: lossyFirstConnection(),
      backoff: { baseMs: 20 },
    });
    const b = new FanoutClient({ url, room: "lossy" });
    const gotB: string[] = [];
    b.on("message", (m) => gotB.push(m.text ?? ""));
    try {
      const bOnline = waitForEvent(b, "welcome");
      b.connect();
      await bOnline;
      const aOnline = waitForEvent(a, "welcome");
      a.connect();
      await aOnline;
      const acked = waitForEvent(a, "ack", () => true, 5000);
      const ref = a.send("exactly once");
      const reconnected = waitForEvent(a, "welcome", (w) => w.resumed);
      const ack = await acked;
      await reconnected;
      assert.equal(ack.ref, ref);
      // A later message proves B is up to date; the first one arrived only once.
      const later = waitForEvent(b, "message", (m) => m.text === "later");
      a.send("later");
      await later;
      assert.deepEqual(gotB, ["exactly once", "later"]);
    } finally {
      a.disconnect();
      b.disconnect();
      await Promise.all([a.whenClosed(), b.whenClosed()]);
      await srv.stop();
    }
  },
);
