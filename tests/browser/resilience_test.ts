/**
 * The web client in real Chromium when the network or the server fails: a server restart on the
 * same port, and a connection severed by a TCP proxy. Pages use `?backoff=100-400` (short waits).
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import {
  bubbles,
  CHROMIUM,
  connState,
  launchBrowser,
  logTexts,
  metric,
  openPage,
  sendMessage,
  until,
  waitOnline,
} from "../helpers/browser.ts";
import { freePort, startTestServer } from "../helpers/server.ts";
import { startTcpProxy } from "../helpers/tcp_proxy.ts";

const ownStatuses = (page: Page) =>
  page.locator('.bubble[data-kind="own"]').evaluateAll((els) =>
    els.map((el) => el.getAttribute("data-status"))
  );

Deno.test({
  name: "web client: survives a server restart and a severed connection",
  ignore: CHROMIUM.ignore,
  async fn(t) {
    const browser = await launchBrowser();
    try {
      await t.step(
        "server restart on the same port: reconnect, queued message once, gap shown",
        async () => {
          const port = freePort();
          let server = await startTestServer({ PORT: String(port) });
          try {
            const url = `http://127.0.0.1:${port}/?room=restart&backoff=100-400`;
            const a = await openPage(browser, url + "&name=Ann");
            const b = await openPage(browser, url + "&name=Bob");
            await waitOnline(a, "A online");
            await waitOnline(b, "B online");
            await sendMessage(a, "before restart");
            await until(() => bubbles(b, "other"), (v) => v.length === 1, "B gets the first");

            await server.stop();
            await until(() => connState(a), (s) => s !== "online", "A notices the restart");
            await sendMessage(a, "typed during the outage");
            await until(() => ownStatuses(a), (v) => v[1] === "queued", "A's message queued");
            assert.match(await a.locator("#composer-help").innerText(), /queued/);

            server = await startTestServer({ PORT: String(port) });
            await waitOnline(a, "A back online");
            await waitOnline(b, "B back online");
            await until(() => bubbles(b, "other"), (v) => v.length === 2, "B gets the queued one");
            await until(() => ownStatuses(a), (v) => v.join() === "delivered,delivered", "acks");
            assert.deepEqual(await bubbles(b, "other"), [
              "before restart",
              "typed during the outage",
            ]);
            assert.deepEqual(await bubbles(a, "other"), []);
            assert.equal(await metric(a, "sent"), "2");
            for (const page of [a, b]) {
              assert.equal(await metric(page, "reconnects"), "1");
              assert.equal(await page.locator('.gap[data-kind="gap"]').count(), 1);
              assert.equal((await logTexts(page, "gap")).length, 1);
              assert.match((await logTexts(page, "gap"))[0], /server restarted/);
              const statuses = (await logTexts(page, "status")).join(" | ");
              assert.doesNotMatch(statuses, /nothing missed/, "a lost log is not 'nothing missed'");
              assert.match(await page.locator(".gap").innerText(), /^Server restarted/);
            }
            await until(() => metric(b, "online"), (v) => v === "2", "2 online after restart");
          } finally {
            await server.stop();
          }
        },
      );

      await t.step(
        "severed connection: A's messages reach B after it reconnects, once, in order",
        async () => {
          const srv = await startTestServer();
          const proxy = startTcpProxy(srv.server.port);
          try {
            const q = "/?room=drop&backoff=100-400";
            const a = await openPage(browser, srv.httpUrl(q + "&name=Ann"));
            const b = await openPage(browser, `http://127.0.0.1:${proxy.port}${q}&name=Bob`);
            await waitOnline(a, "A online");
            await waitOnline(b, "B online");
            await sendMessage(a, "m0");
            await until(() => bubbles(b, "other"), (v) => v.length === 1, "B gets m0");

            proxy.setBlocked(true);
            assert.ok(proxy.severAll() >= 1, "B's socket went through the proxy");
            await until(() => connState(b), (s) => s !== "online", "B notices the drop");
            const sent = ["m1", "m2", "m3", "m4", "m5"];
            for (const text of sent) await sendMessage(a, text);
            await until(
              () => ownStatuses(a),
              (v) => v.length === 6 && v.every((s) => s === "delivered"),
              "acks",
            );
            assert.deepEqual(await bubbles(b, "other"), ["m0"], "nothing reaches B while cut off");

            proxy.setBlocked(false);
            await waitOnline(b, "B back online");
            await until(() => bubbles(b, "other"), (v) => v.length >= 6, "B catches up");
            assert.deepEqual(await bubbles(b, "other"), ["m0", ...sent]);
            assert.deepEqual(
              (await logTexts(b, "message")).map((s) => s.replace("Ann: ", "")),
              ["m0", ...sent],
            );
            assert.equal(await metric(b, "received"), "6");
            assert.equal(await metric(b, "reconnects"), "1");
            assert.equal(await b.locator(".gap").count(), 0, "a resume within the log has no gap");
            assert.match((await logTexts(b, "status")).join(" | "), /Reconnected, nothing missed/);
            assert.equal(await metric(a, "reconnects"), "0");
          } finally {
            await proxy.close();
            await srv.stop();
          }
        },
      );
    } finally {
      await browser.close();
    }
  },
});
