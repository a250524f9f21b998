/**
 * The borrowed-identity attacks of issue 11 over real sockets: an attacker who copies what it sees
 * on the wire (the victim's `message.client` and name) can neither pass for the victim nor
 * pre-empt its refs.
 */

import assert from "node:assert/strict";
import { startTestServer } from "../helpers/server.ts";
import { type Frame, TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const isText = (text: string) => (f: Frame) => f.type === "message" && f.text === text;

testWithPermissions(
  "ws: copying the victim's client id from the wire borrows nothing",
  async () => {
    const srv = await startTestServer();
    const open: TestClient[] = [];
    const join = async (query: Record<string, string>) => {
      const joined = await TestClient.join(srv.wsUrl({ room: "borrow", ...query }));
      open.push(joined.client);
      return joined;
    };
    try {
      const victim = await join({ client: "victim-key-0001", name: "Vic" });
      const { client: watcher } = await join({});
      victim.client.send({ type: "message", text: "hi, Vic here", ref: "r0" });
      await victim.client.next((f) => f.type === "ack");
      const wire = (await watcher.next(isText("hi, Vic here"))).client;
      assert.match(wire, /^[A-Za-z0-9_-]{16}$/);
      assert.notEqual(wire, "victim-key-0001", "the private key never goes on the wire");
      assert.equal(victim.welcome.client, wire, "the welcome tells the victim its public id");

      const attacker = await join({ client: wire, name: "Vic" });
      assert.notEqual(attacker.welcome.client, wire);
      for (const ref of ["r1", "r2", "r3"]) {
        attacker.client.send({ type: "message", text: `trap ${ref}`, ref });
      }
      const forged = await watcher.next(isText("trap r1"));
      assert.notEqual(forged.client, wire, "others can tell the forgery from the victim");
      await watcher.next(isText("trap r3"));

      for (const ref of ["r1", "r2", "r3"]) {
        victim.client.send({ type: "message", text: `real ${ref}`, ref });
      }
      const acks = [];
      for (let i = 0; i < 3; i++) acks.push(await victim.client.next((f) => f.type === "ack"));
      assert.deepEqual(acks.map((a) => [a.ref, a.offset]), [["r1", 5], ["r2", 6], ["r3", 7]]);
      for (const ref of ["r1", "r2", "r3"]) {
        assert.equal((await watcher.next(isText(`real ${ref}`))).client, wire);
      }
    } finally {
      await Promise.all(open.map((c) => c.close()));
      await srv.stop();
    }
  },
);
