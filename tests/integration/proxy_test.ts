/**
 * Behind a trusted reverse proxy (TRUST_PROXY) every TCP connection comes from the proxy: the
 * per-address limits count the address the proxy reports instead, and the listener no longer
 * caps the proxy's own connections per address.
 */

import assert from "node:assert/strict";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer } from "../helpers/server.ts";
import { testWithPermissions } from "../helpers/requires.ts";

async function open(port: number, forwardedFor?: string) {
  const headers: Record<string, string> = forwardedFor ? { "X-Forwarded-For": forwardedFor } : {};
  return await RawWs.connect(port, "/ws?room=proxy", { headers, protocols: ["fanout.v1"] });
}

testWithPermissions(
  "TRUST_PROXY=1: limits count X-Forwarded-For's last entry, not the proxy",
  async () => {
    const srv = await startTestServer({ TRUST_PROXY: "1", MAX_CONNECTIONS_PER_IP: "2" });
    const held: RawWs[] = [];
    try {
      // 40 clients behind the proxy (all from 127.0.0.1 here): more than the 2 + 32 TCP
      // connections one address could hold without TRUST_PROXY.
      for (let i = 1; i <= 40; i++) {
        const hs = await open(srv.server.port, `198.51.100.9, 203.0.113.${i}`);
        assert.equal(hs.status, 101, `client ${i}: ${hs.body}`);
        held.push(hs.ws!);
      }
      const second = await open(srv.server.port, "203.0.113.1");
      assert.equal(second.status, 101);
      held.push(second.ws!);
      const third = await open(srv.server.port, "203.0.113.1");
      assert.equal(third.status, 429, "the third from one reported address is over the limit");
      assert.match(third.body, /too many connections from your address \(at most 2\)/);
      assert.equal(third.headers.get("retry-after"), "10");
    } finally {
      for (const ws of held) ws.abort();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "TRUST_PROXY unset: X-Forwarded-For is ignored, the peer's address counts",
  async () => {
    const srv = await startTestServer({ MAX_CONNECTIONS_PER_IP: "2" });
    const held: RawWs[] = [];
    try {
      for (const ip of ["203.0.113.1", "203.0.113.2"]) {
        const hs = await open(srv.server.port, ip);
        assert.equal(hs.status, 101);
        held.push(hs.ws!);
      }
      const spoofed = await open(srv.server.port, "203.0.113.3");
      assert.equal(spoofed.status, 429, "a forged header does not make a new address");
    } finally {
      for (const ws of held) ws.abort();
      await srv.stop();
    }
  },
);
