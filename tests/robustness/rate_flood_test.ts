/**
 * Floods past the rate limit over a real socket: each frame over the limit gets `rate_limited`
 * with its `ref`, the connection recovers once tokens come back, sustained abuse is closed 1008,
 * and the other clients receive exactly the accepted messages (and nothing of binary or
 * oversized floods).
 */

import assert from "node:assert/strict";
import { type MaskedFrameSpec, Op } from "../helpers/masked_frames.ts";
import { RawWs } from "../helpers/raw_ws.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/ws_client.ts";
import { testWithPermissions } from "../helpers/requires.ts";

const msg = (text: string, ref: string) => JSON.stringify({ type: "message", text, ref });

testWithPermissions(
  "bad input: a flood is rate limited with refs, then closed 1008; others see only accepted",
  async () => {
    const srv = await startTestServer({
      RATE_LIMIT: "5",
      RATE_BURST: "5",
      RATE_LIMIT_CLOSE_AFTER: "20",
    });
    const { client: witness } = await TestClient.join(srv.wsUrl({ room: "flood" }));
    const hs = await RawWs.connect(srv.server.port, "/ws?room=flood", { protocols: ["fanout.v1"] });
    const ws = hs.ws!;
    try {
      await ws.until((f) => f.type === "welcome");
      // A burst of 12: the first 5 pass, the rest are refused one by one with their ref.
      const refs = Array.from({ length: 12 }, (_, i) => `f${i}`);
      for (const ref of refs) await ws.sendText(msg(`flood ${ref}`, ref));
      const answers: Record<string, unknown>[] = [];
      while (answers.length < refs.length) {
        answers.push(await ws.until((f) => f.type === "ack" || f.type === "error"));
      }
      const acked = answers.filter((f) => f.type === "ack").map((f) => f.ref as string);
      const refused = answers.filter((f) => f.type === "error");
      for (const e of refused) assert.equal(e.code, "rate_limited");
      assert.deepEqual(
        [...acked, ...refused.map((e) => e.ref)].sort(),
        [...refs].sort(),
        "every frame is answered once, with its ref",
      );
      assert.ok(acked.length >= 5 && acked.length < 12, `accepted ${acked.length} of the burst`);
      assert.deepEqual(acked.slice(0, 5), refs.slice(0, 5), "the burst passes in order");

      // Tokens come back at 5/s: after a second the connection sends again.
      await new Promise((r) => setTimeout(r, 1100));
      await ws.sendText(msg("after the pause", "p1"));
      const ack = await ws.until((f) => f.type === "ack" || f.type === "error");
      assert.deepEqual([ack.type, ack.ref], ["ack", "p1"]);
      acked.push("p1");

      // Sustained abuse: keep sending (reading each answer, so that the close frame is not lost to
      // a TCP reset) until the server closes with 1008.
      let close: { code: number | null } | null = null;
      for (let i = 0; i < 60 && !close; i++) {
        await ws.sendText(msg(`abuse ${i}`, `a${i}`));
        while (true) {
          const next = await ws.nextJson(5000);
          if (next.kind === "close") close = next;
          else if (next.kind !== "json") {
            throw new Error(`got ${next.kind} instead of a close frame`);
          } else if (next.frame.type === "ack") acked.push(next.frame.ref as string);
          else if (next.frame.type !== "error") continue;
          break;
        }
      }
      assert.ok(close, "still open after 60 frames over the limit");
      assert.equal(close.code, 1008);

      const texts = new Set(
        acked.map((ref) =>
          ref === "p1"
            ? "after the pause"
            : ref.startsWith("a")
            ? `abuse ${ref.slice(1)}`
            : `flood ${ref}`
        ),
      );
      await witness.next((f) => f.type === "message" && f.text === "after the pause");
      await witness.quietFor(200);
      const got = witness.frames.filter((f) => f.type === "message").map((f) => f.text);
      assert.deepEqual(
        got.sort(),
        [...texts].sort(),
        "the witness got exactly the accepted messages",
      );
      assert.deepEqual(witness.ofType("error"), []);
      const stats = await (await fetch(srv.httpUrl("/api/stats"))).json();
      assert.ok(stats.errors.rate_limited >= 20, `rate_limited count ${stats.errors.rate_limited}`);
    } finally {
      ws.abort();
      await witness.close();
      await srv.stop();
    }
  },
);

testWithPermissions(
  "bad input: floods of binary or oversized frames are rate limited and closed 1008 too; a witness sees nothing of them",
  async () => {
    const srv = await startTestServer({
      RATE_LIMIT: "5",
      RATE_BURST: "5",
      RATE_LIMIT_CLOSE_AFTER: "20",
      MAX_MESSAGE_BYTES: "1024",
    });
    const { client: witness, welcome } = await TestClient.join(srv.wsUrl({ room: "f2" }));
    const { client: speaker } = await TestClient.join(srv.wsUrl({ room: "f2" }));
    const flooders: string[] = [];
    try {
      await witness.next((f) => f.type === "presence" && f.online === 2);
      const mark = witness.frames.length;
      const floods: [string, MaskedFrameSpec][] = [
        ["unsupported_binary", { opcode: Op.binary, payload: new Uint8Array(10) }],
        ["too_large", { opcode: Op.text, payload: "x".repeat(2000) }],
      ];
      for (const [code, spec] of floods) {
        const ws = (await RawWs.connect(srv.server.port, "/ws?room=f2", {
          protocols: ["fanout.v1"],
        })).ws!;
        try {
          flooders.push((await ws.until((f) => f.type === "welcome")).id as string);
          const codes: string[] = [];
          let close: { code: number | null } | null = null;
          for (let i = 0; i < 100 && !close; i++) {
            await ws.sendFrame(spec);
            while (true) {
              const next = await ws.nextJson(5000);
              if (next.kind === "close") close = next;
              else if (next.kind !== "json") throw new Error(`got ${next.kind}`);
              else if (next.frame.type !== "error") continue;
              else codes.push(next.frame.code as string);
              break;
            }
          }
          assert.equal(close?.code, 1008, `a ${code} flood is closed for abuse`);
          assert.deepEqual(codes.slice(0, 5), Array(5).fill(code), "the burst gets the real error");
          // Tokens trickle back at 5/s, so a slow machine may see a few more real errors.
          assert.ok(codes.every((c) => c === code || c === "rate_limited"), codes.join(","));
          assert.ok(codes.filter((c) => c === "rate_limited").length >= 19, codes.join(","));
        } finally {
          ws.abort();
        }
      }
      // Control: the witness is listening.
      speaker.send({ type: "message", text: "after the floods" });
      await witness.next((f) => f.type === "message" && f.text === "after the floods");
      // Presence: the flooders joined and left once each, and nothing else was announced.
      const count = () => {
        let joins = 0;
        let leaves = 0;
        for (const f of witness.frames.slice(mark).filter((f) => f.type === "presence")) {
          for (const peer of [f.joined, f.left].filter(Boolean)) {
            assert.ok(flooders.includes(peer.id) && peer.id !== welcome.id, JSON.stringify(f));
          }
          assert.ok(
            f.joined || f.left || f.joins || f.leaves,
            `empty presence ${JSON.stringify(f)}`,
          );
          joins += f.joined ? 1 : f.joins ?? 0;
          leaves += f.left ? 1 : f.leaves ?? 0;
        }
        return [joins, leaves];
      };
      for (let i = 0; i < 100 && count()[1] < floods.length; i++) await witness.quietFor(20);
      await witness.quietFor(100);
      assert.deepEqual(count(), [floods.length, floods.length], "one join and one leave each");
      const seen = witness.frames.slice(mark).filter((f) => f.type !== "presence");
      assert.deepEqual(
        seen.map((f) => [f.type, f.text]),
        [["message", "after the floods"]],
        "the witness got only the control message",
      );
    } finally {
      await witness.close();
      await speaker.close();
      await srv.stop();
    }
  },
);
