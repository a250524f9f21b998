/**
 * The web client in real Chromium switching rooms over one WebSocket (issue 23): a switch
 * subscribes the new room and unsubscribes the old one on the same socket, the old room's
 * messages no longer appear, the new room's do (history and live) and its own reach it; a switch
 * back works the same way; after a reconnect the page resumes the room it shows. The page goes
 * through a TCP proxy, so that the test can sever its connection.
 */
import assert from "node:assert/strict";
import type { Browser, Page, WebSocket } from "playwright-core";
import {
  bubbles,
  CHROMIUM,
  launchBrowser,
  logTexts,
  metric,
  pageErrors,
  sendMessage,
  until,
  waitOnline,
} from "../helpers/browser.ts";
import { startTestServer } from "../helpers/server.ts";
import { startTcpProxy } from "../helpers/tcp_proxy.ts";
import { TestClient } from "../helpers/ws_client.ts";

/** Opens `url` with every WebSocket of the page recorded from the start (`openPage` cannot). */
async function openRecorded(
  browser: Browser,
  url: string,
): Promise<{ page: Page; sockets: WebSocket[]; sent: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const sockets: WebSocket[] = [];
  const sent: string[] = [];
  page.on("websocket", (ws) => {
    sockets.push(ws);
    ws.on("framesent", (frame) => sent.push(String(frame.payload)));
  });
  page.on("pageerror", (err) => pageErrors(page).push(String(err)));
  await page.goto(url);
  await page.waitForSelector(".app[data-ready=true]", { timeout: 10_000 });
  return { page, sockets, sent };
}

/** Switches by the room field, as a user does. */
async function switchTo(page: Page, room: string): Promise<void> {
  await page.fill("#room-input", room);
  await page.press("#room-input", "Enter");
  const shown = () => page.evaluate(() => new URL(location.href).searchParams.get("room"));
  await until(shown, (r) => r === room, `room=${room} in the address bar`);
}

/** The `type` and `room` of the frames the page sent that are of `types`. */
function roomFrames(sent: string[], types: string[]): string[] {
  return sent.map((s) => JSON.parse(s))
    .filter((f) => types.includes(f.type))
    .map((f) => `${f.type} ${f.room}`);
}

Deno.test({
  name: "web client: a room switch keeps the WebSocket; the old room's messages stop",
  ignore: CHROMIUM.ignore,
  async fn(t) {
    const srv = await startTestServer();
    const proxy = startTcpProxy(srv.server.port);
    const browser = await launchBrowser();
    const { client: old } = await TestClient.join(srv.wsUrl({ room: "sw1", name: "Olga" }));
    const { client: fresh } = await TestClient.join(srv.wsUrl({ room: "sw2", name: "Nina" }));
    try {
      const base = `http://127.0.0.1:${proxy.port}`;
      const { page, sockets, sent } = await openRecorded(
        browser,
        `${base}/?room=sw1&name=Ann&backoff=100-400`,
      );
      await waitOnline(page, "online in #sw1");
      const post = async (peer: TestClient, text: string) => {
        peer.send({ type: "message", text, ref: text });
        await peer.next((f) => f.type === "ack" && f.ref === text);
      };

      await t.step("the switch subscribes #sw2 on the same socket, with its history", async () => {
        await post(fresh, "waiting in sw2");
        await switchTo(page, "sw2");
        await until(() => bubbles(page, "other"), (v) => v.includes("waiting in sw2"), "history");
        await until(() => metric(page, "online"), (v) => v === "2", "Ann and Nina in #sw2");
        assert.equal(await page.locator(".room-chip").innerText(), "#sw2");
        assert.equal(sockets.length, 1, "one WebSocket across the switch");
        assert.equal(sockets[0].isClosed(), false);
        assert.deepEqual(roomFrames(sent, ["subscribe", "unsubscribe"]), [
          "unsubscribe sw1",
          "subscribe sw2",
        ]);
        assert.match((await logTexts(page, "status")).join(" | "), /Joined: #sw2, 2 online/);
      });

      await t.step("the old room's messages no longer appear; the new room's do", async () => {
        // Olga sees Ann leave #sw1: the server took the socket out of it.
        await old.next((f) => f.type === "presence" && f.online === 1 && !f.joined);
        await post(old, "old room");
        await post(fresh, "new room");
        await until(() => bubbles(page, "other"), (v) => v.includes("new room"), "live in #sw2");
        assert.deepEqual(await bubbles(page, "other"), ["waiting in sw2", "new room"]);
        assert.deepEqual(await logTexts(page, "message"), [
          "Nina: waiting in sw2",
          "Nina: new room",
        ]);
        await sendMessage(page, "hello sw2");
        const got = await fresh.next((f) => f.type === "message" && f.text === "hello sw2");
        assert.deepEqual([got.room, got.name], ["sw2", "Ann"]);
        assert.deepEqual(old.ofType("message").map((m) => m.text), [], "nothing reached #sw1");
      });

      await t.step("back to #sw1 on the same socket: its history, own message kept", async () => {
        await until(
          () => page.locator('.bubble[data-kind="own"]').getAttribute("data-status"),
          (s) => s === "delivered",
          "Ann's message delivered before switching",
        );
        await page.goBack();
        await until(() => page.evaluate(() => location.search), (s) => s.includes("sw1"), "back");
        await until(() => bubbles(page, "other"), (v) => v.includes("old room"), "#sw1 history");
        assert.deepEqual(await bubbles(page, "other"), ["old room"]);
        assert.deepEqual(await bubbles(page, "own"), []);
        assert.equal(sockets.length, 1, "still one WebSocket");
        assert.equal(await metric(page, "reconnects"), "0");
        await switchTo(page, "sw2");
        await until(() => bubbles(page, "own"), (v) => v.includes("hello sw2"), "own from history");
        assert.deepEqual(await bubbles(page, "other"), ["waiting in sw2", "new room"]);
        assert.equal(sockets.length, 1);
      });

      await t.step("after a reconnect the page resumes the room it shows", async () => {
        assert.ok(proxy.severAll() >= 1, "the page's socket went through the proxy");
        await until(() => Promise.resolve(sockets.length), (n) => n === 2, "a new socket");
        await waitOnline(page, "online again");
        assert.equal(new URL(sockets[1].url()).searchParams.get("room"), "sw2");
        assert.match((await logTexts(page, "status")).join(" | "), /Reconnected, nothing missed/);
        await post(fresh, "after the reconnect");
        await until(() => bubbles(page, "other"), (v) => v.includes("after the reconnect"), "live");
        assert.deepEqual(await bubbles(page, "other"), [
          "waiting in sw2",
          "new room",
          "after the reconnect",
        ]);
      });
      assert.deepEqual(pageErrors(page), [], "no page errors");
    } finally {
      await old.close();
      await fresh.close();
      await browser.close();
      await proxy.close();
      await srv.stop();
    }
  },
});
