/**
 * The web client in auth mode, in real Chromium: the token from the link's fragment gets in, is
 * kept for the tab and taken out of the address bar; a room the token does not grant shows "Not
 * allowed in this room" and the page stops retrying; a page without a token says a token is
 * needed.
 */
import assert from "node:assert/strict";
import {
  bubbles,
  CHROMIUM,
  connState,
  launchBrowser,
  openPage,
  pageErrors,
  sendMessage,
  until,
  waitOnline,
} from "../helpers/browser.ts";
import { startTestServer } from "../helpers/server.ts";
import { hsToken, TEST_SECRET } from "../helpers/tokens.ts";
import { TestClient } from "../helpers/ws_client.ts";

const notices = (page: import("playwright-core").Page) =>
  page.locator(".notice span").allInnerTexts();
/** Console errors other than Chromium's own line for a refused handshake (expected here). */
const unexpected = (page: import("playwright-core").Page) =>
  pageErrors(page).filter((e) =>
    !/HTTP Authentication failed|Unexpected response code: 40[13]|status of 40[13] \((Unauthorized|Forbidden)\)/
      .test(e)
  );

Deno.test({
  name: "browser, auth mode: #token= gets in and leaves the address bar; refusals stop retries",
  ignore: CHROMIUM.ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const srv = await startTestServer({ AUTH_SECRET: TEST_SECRET });
    const browser = await launchBrowser();
    const peerToken = await hsToken({ sub: "peer", rooms: { team: "rw" } });
    const { client: peer } = await TestClient.join(srv.wsUrl({ room: "team", token: peerToken }));
    try {
      const token = await hsToken({ sub: "ann", name: "Ann", rooms: { team: "rw" } });
      const page = await openPage(
        browser,
        srv.httpUrl(`/?room=team&backoff=50-200#token=${token}`),
      );
      await waitOnline(page, "online with the fragment's token");
      assert.equal(new URL(page.url()).hash, "", "the token left the address bar");
      assert.equal(await page.evaluate(() => sessionStorage.getItem("fanout.token")), token);
      await sendMessage(page, "hello with a token");
      const m = await peer.next((f) => f.type === "message" && f.text === "hello with a token");
      assert.deepEqual([m.user, m.name], ["ann", "Ann"]);
      peer.send({ type: "message", text: "hi Ann", ref: "p1" });
      const ack = await peer.next((f) => f.type === "ack" || f.type === "error");
      assert.equal(ack.type, "ack", JSON.stringify(ack));
      await until(() => bubbles(page, "other"), (v) => v.includes("hi Ann"), "peer's message");

      // A reload keeps the tab's token (sessionStorage), without it in the URL.
      await page.reload();
      await page.waitForSelector(".app[data-ready=true]");
      await waitOnline(page, "online after reload");

      // A room the token does not grant: "Not allowed in this room", and no more attempts.
      let sockets = 0;
      page.on("websocket", () => sockets++);
      await page.fill("#room-input", "secret");
      await page.press("#room-input", "Enter");
      await until(() => connState(page), (s) => s === "refused", "refused in #secret");
      assert.match(
        await page.locator(".status").innerText(),
        /Not allowed in this room|Not allowed/,
      );
      assert.match((await notices(page)).join(" "), /does not grant this room/);
      const seen = sockets;
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(sockets, seen, "no retries after a refusal");
      assert.deepEqual(unexpected(page), []);
      await page.context().close();

      // No token at all in auth mode: refused, with what to do.
      const bare = await openPage(browser, srv.httpUrl("/?room=team&backoff=50-200"));
      await until(() => connState(bare), (s) => s === "refused", "refused without a token");
      assert.match((await notices(bare)).join(" "), /needs a valid token/);
      assert.deepEqual(unexpected(bare), []);
      await bare.context().close();
    } finally {
      await peer.close();
      await browser.close();
      await srv.stop();
    }
  },
});
