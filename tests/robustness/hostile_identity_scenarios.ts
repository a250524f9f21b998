/**
 * Hostile scenarios against identity and text (short ones; also covered by unit tests):
 * posing as someone else's client id (row 9), pre-sending their refs (row 10), texts full of
 * control bytes (row 11), and foreign origins (row 12).
 *
 * @module
 */

import { type Frame, TestClient } from "../helpers/ws_client.ts";
import { attackWs, drain, loopFor, sleep, waitFor } from "./hostile_attackers.ts";
import { Tally } from "./hostile_probe.ts";
import type { HostileSpec } from "./hostile_run.ts";

const msg = (text: string, ref: string) => JSON.stringify({ type: "message", text, ref });

/**
 * Rows 9 and 10: a victim (private key, name "Victim") and an observer share a room. The
 * attacker joins with `client=<the victim's public id>` and the victim's name, and pre-sends
 * refs r1..r3; the victim then sends r1..r3. Expected: the attacker gets another public id,
 * its messages reach the victim as someone else's, the victim's own r1..r3 are acked with their
 * own offsets and broadcast; the attacker reusing its ref with another text gets ref_conflict.
 *
 * @example
 * ```ts
 * const report = await runHostile(impersonation({ memoryLimitMb: 128 }));
 * ```
 */
export function impersonation(size: { memoryLimitMb: number }): HostileSpec {
  return {
    row: "9-10",
    attack: "client=<victim's public id> with the victim's name, refs r1..r3 sent first",
    memoryLimitMb: size.memoryLimitMb,
    run: async ({ port, server, address }) => {
      const got = new Tally();
      const room = "victim";
      const key = `victim-key-${crypto.randomUUID()}`;
      const { client: victim, welcome } = await TestClient.join(
        server.wsUrl({ room, name: "Victim", client: key }),
      );
      const { client: observer } = await TestClient.join(server.wsUrl({ room, name: "Obs" }));
      const publicId = String(welcome.client);
      const hs = await attackWs(port, { room, name: "Victim", client: publicId }, got, {
        from: address(0),
      });
      const frames: Record<string, unknown>[] = [];
      const ended = drain(hs!.ws!, got, true, (f) => frames.push(f));
      for (const r of ["r1", "r2", "r3"]) await hs!.ws!.sendText(msg(`fake ${r}`, r));
      await waitFor(() => frames.filter((f) => f.type === "ack").length >= 3, 5000);
      await hs!.ws!.sendText(msg("another text", "r1"));
      await waitFor(() => frames.some((f) => f.type === "error"), 5000);
      const attackerId = frames.find((f) => f.type === "welcome")?.client;
      const seenByVictim = await victim.next((f) => f.type === "message" && f.text === "fake r3");
      for (const r of ["r1", "r2", "r3"]) {
        victim.send({ type: "message", text: `real ${r}`, ref: r });
      }
      const acks: Frame[] = [];
      for (const r of ["r1", "r2", "r3"]) {
        acks.push(await victim.next((f) => f.type === "ack" && f.ref === r));
      }
      const real: Frame[] = [];
      for (const r of ["r1", "r2", "r3"]) {
        real.push(await observer.next((f) => f.type === "message" && f.text === `real ${r}`));
      }
      hs!.ws!.abort();
      await ended;
      await victim.close();
      await observer.close();
      const attackerAcks = frames.filter((f) => f.type === "ack").map((f) => f.offset);
      const conflict = frames.find((f) => f.type === "error")?.code;
      return {
        got,
        details: { publicId, attackerId: String(attackerId), conflict: String(conflict) },
        checks: [
          {
            what: "row 9: the attacker gets another public id; the victim sees it as someone else",
            ok: typeof attackerId === "string" && attackerId !== publicId &&
              seenByVictim.client === attackerId && seenByVictim.client !== publicId,
            got: `victim ${publicId}, attacker ${attackerId}, victim saw ${seenByVictim.client}`,
          },
          {
            what: "row 10: the victim's r1..r3 acked with their own offsets and broadcast",
            ok: acks.every((a, i) => a.offset === real[i].offset && real[i].client === publicId) &&
              acks.every((a) => !attackerAcks.includes(a.offset)),
            got: `acks ${acks.map((a) => a.offset)}, broadcast ${real.map((m) => m.offset)}, ` +
              `attacker's ${attackerAcks}`,
          },
          {
            what: "row 10: the same ref with another text is refused ref_conflict",
            ok: conflict === "ref_conflict",
            got: String(conflict),
          },
        ],
      };
    },
  };
}

/**
 * Row 11: plain-mode (and JSON-mode) texts full of control bytes, at the rate limit for
 * `seconds`. Expected: each refused (`error: text must not contain control characters` /
 * `invalid_text`), members receive nothing, and a joiner's welcome holds no history.
 *
 * @example
 * ```ts
 * const report = await runHostile(controlBytes({ memoryLimitMb: 128, seconds: 2, textBytes: 60000 }));
 * ```
 */
export function controlBytes(
  size: { memoryLimitMb: number; seconds: number; textBytes: number },
): HostileSpec {
  return {
    row: "11",
    attack: `texts of ${size.textBytes} control bytes, plain and JSON, ${size.seconds} s`,
    memoryLimitMb: size.memoryLimitMb,
    run: async ({ port, server, config, address }) => {
      const got = new Tally();
      const room = "controls";
      const { client: member } = await TestClient.join(server.wsUrl({ room }));
      // 6 characters; in JSON each control byte is escaped to 6, so 21 bytes.
      const unit = "\u0001\u001b[2J\u0007";
      const text = unit.repeat(Math.floor(size.textBytes / unit.length));
      const jsonText = unit.repeat(Math.floor(size.textBytes / 22));
      const plain = await attackWs(port, { room }, got, { from: address(0), json: false });
      const json = await attackWs(port, { room }, got, { from: address(1) });
      const ends = [drain(plain!.ws!, got, false), drain(json!.ws!, got, true)];
      let sent = 0;
      await loopFor(size.seconds, 1, async () => {
        await plain!.ws!.sendText(text);
        await json!.ws!.sendText(
          JSON.stringify({ type: "message", text: jsonText, ref: `c${sent}` }),
        );
        sent++;
        await sleep(1000 / config.rateLimit);
      });
      await sleep(300);
      const { client: joiner, welcome } = await TestClient.join(server.wsUrl({ room }));
      const received = member.ofType("message").length;
      plain!.ws!.abort();
      json!.ws!.abort();
      await Promise.all(ends);
      await member.close();
      await joiner.close();
      const welcomeBytes = JSON.stringify(welcome).length;
      return {
        got,
        details: { sentEach: sent, memberReceived: received, welcomeBytes },
        checks: [
          {
            what:
              "every text refused: plain `error: text must not contain control`, JSON invalid_text",
            ok: got.get("error: text must not") === sent && got.get("error invalid_text") === sent,
            got: got.toString(),
          },
          {
            what: "members receive nothing; a joiner's welcome has no history",
            ok: received === 0 && welcome.history.length === 0 && welcomeBytes < 1024,
            got:
              `${received} messages; welcome ${welcomeBytes} bytes, ${welcome.history.length} kept`,
          },
        ],
      };
    },
  };
}

/**
 * Row 12: handshakes with `Host` and `Origin` both a foreign name (DNS rebinding), and with an
 * `https://` origin for this http server. Expected: 403 naming PUBLIC_URL; a local page's
 * origin (`http://127.0.0.1:<port>`) still gets 101.
 *
 * @example
 * ```ts
 * const report = await runHostile(foreignOrigins({ memoryLimitMb: 128, rounds: 5 }));
 * ```
 */
export function foreignOrigins(
  size: { memoryLimitMb: number; rounds: number },
): HostileSpec {
  return {
    row: "12",
    attack: `DNS-rebinding Host+Origin and an https origin, ${size.rounds} rounds`,
    memoryLimitMb: size.memoryLimitMb,
    run: async ({ port, address }) => {
      const got = new Tally();
      const rebinding = new Tally();
      const https = new Tally();
      const local = new Tally();
      let body = "";
      const from = address(0);
      for (let i = 0; i < size.rounds; i++) {
        const evil = `evil.test:${port}`;
        const a = await attackWs(port, { room: "o" }, rebinding, {
          from,
          host: evil,
          headers: { Origin: `http://${evil}` },
        });
        body ||= a?.body.trim() ?? "";
        await attackWs(port, { room: "o" }, https, {
          from,
          headers: { Origin: `https://127.0.0.1:${port}` },
        });
        const ok = await attackWs(port, { room: "o" }, local, {
          from,
          headers: { Origin: `http://127.0.0.1:${port}` },
        });
        ok?.ws?.abort();
      }
      for (const t of [rebinding, https, local]) got.merge(t);
      return {
        got,
        details: { body },
        checks: [
          {
            what:
              "rebinding (Host = Origin = evil.test) and an https origin: 403 naming PUBLIC_URL",
            ok: rebinding.prefixed("403 origin") === size.rounds &&
              https.prefixed("403 origin") === size.rounds && /set PUBLIC_URL/.test(body),
            got: `${rebinding} / ${https}: ${body}`,
          },
          {
            what: "a local page's origin still gets 101",
            ok: local.get("101") === size.rounds,
            got: local.toString(),
          },
        ],
      };
    },
  };
}
