/**
 * The page's wiring in real Chromium: the browser's `online` and `visibilitychange` events end a
 * long backoff wait, "Retry now" keeps the keyboard focus, the live region sums up bursts, the
 * tabs point at real tab panels, and auto-scroll keeps following once the views are capped.
 * `Math.random` is pinned in the page so that the backoff wait is long and known (19.8 s).
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { MAX_ITEMS } from "../../lib/web/chat/state.ts";
import {
  bubbles,
  CHROMIUM,
  connState,
  launchBrowser,
  openPage,
  pageErrors,
  until,
  waitOnline,
} from "../helpers/browser.ts";
import { freePort, startTestServer } from "../helpers/server.ts";

const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    return el?.id || el?.getAttribute("aria-label") || el?.tagName || "";
  });

/** A page whose backoff waits are 19.8 s: Math.random is 0.99 and the cap 20 s. */
async function slowRetryPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(() => {
    Math.random = () => 0.99;
  });
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector(".app[data-ready=true]");
  await waitOnline(page, "first connection");
  return page;
}

/** A JSON-mode socket that sends as `name`, for bursts no UI can type fast enough. */
async function sender(url: string): Promise<{ send(text: string): void; close(): void }> {
  const ws = new WebSocket(url, "fanout.v1");
  await new Promise((resolve, reject) => {
    ws.onmessage = (e) => String(e.data).includes('"welcome"') && resolve(null);
    ws.onerror = reject;
  });
  let n = 0;
  return {
    send: (text) => ws.send(JSON.stringify({ type: "message", text, ref: `s${++n}` })),
    close: () => ws.close(),
  };
}

Deno.test({
  name: "web client wiring: browser events, focus, live region, tab panels, capped views",
  ignore: CHROMIUM.ignore,
  async fn(t) {
    const browser = await launchBrowser();
    try {
      await t.step("online and visibilitychange end a long backoff wait at once", async () => {
        const port = freePort();
        let server = await startTestServer({ PORT: String(port), SHUTDOWN_GRACE_MS: "200" });
        const page = await slowRetryPage(
          browser,
          `http://127.0.0.1:${port}/?room=wake&name=Wes&backoff=20000-20000`,
        );
        try {
          for (const wake of ["online", "visibility"] as const) {
            await server.stop();
            await until(
              () => page.locator(".status-text").innerText(),
              (s) => /in 1\d|in 20/.test(s),
              "19.8 s wait",
            );
            server = await startTestServer({ PORT: String(port), SHUTDOWN_GRACE_MS: "200" });
            if (wake === "online") {
              await page.evaluate(() => dispatchEvent(new Event("online")));
            } else {
              await page.evaluate(() => {
                let hidden = true;
                Object.defineProperty(document, "hidden", {
                  configurable: true,
                  get: () => hidden,
                });
                document.dispatchEvent(new Event("visibilitychange"));
                const realNow = Date.now;
                Date.now = () => realNow() + 60_000; // a minute asleep
                hidden = false;
                document.dispatchEvent(new Event("visibilitychange"));
                Date.now = realNow;
              });
            }
            await waitOnline(page, `back online after "${wake}", long before 19.8 s`, 8000);
          }
        } finally {
          await page.context().close();
          await server.stop();
        }
      });

      await t.step(
        "Retry now keeps the focus while connecting; online moves it to the composer",
        async () => {
          const port = freePort();
          let server = await startTestServer({ PORT: String(port), SHUTDOWN_GRACE_MS: "200" });
          const page = await slowRetryPage(
            browser,
            `http://127.0.0.1:${port}/?room=focus&backoff=20000-20000`,
          );
          try {
            const toggle = page.locator("#conn-toggle");
            assert.equal(
              await toggle.getAttribute("aria-pressed"),
              null,
              "a label that changes, not a pressed state",
            );
            assert.equal(await toggle.getAttribute("aria-label"), "Disconnect");
            await server.stop();
            const retry = page.getByRole("button", { name: "Retry now" });
            await retry.focus();
            await page.keyboard.press("Enter"); // the server is still down: connecting, then waiting again
            for (let i = 0; i < 10; i++) {
              assert.equal(
                await focused(page),
                "Retry now",
                `focus stays on the button (${await connState(page)})`,
              );
              await new Promise((r) => setTimeout(r, 20));
            }
            await until(() => connState(page), (s) => s === "reconnecting", "waiting again");
            assert.equal(await focused(page), "Retry now");
            server = await startTestServer({ PORT: String(port), SHUTDOWN_GRACE_MS: "200" });
            await page.keyboard.press("Enter");
            await waitOnline(page, "online after Retry now");
            await until(
              () => focused(page),
              (f) => f === "composer-input",
              "focus on the composer",
            );
            assert.deepEqual(pageErrors(page), []);
          } finally {
            await page.context().close();
            await server.stop();
          }
        },
      );

      const srv = await startTestServer({
        RATE_LIMIT: "100000",
        RATE_BURST: "100000",
        HISTORY_ON_JOIN: String(MAX_ITEMS + 20),
      });
      try {
        await t.step(
          "the live region sums up a burst instead of reading only its last line",
          async () => {
            const page = await openPage(browser, srv.httpUrl("/?room=burst&name=Ann"));
            await waitOnline(page, "A online");
            const bob = await sender(srv.wsUrl({ room: "burst", name: "Bob" }));
            const live = page.locator("[aria-live]");
            await until(() => live.innerText(), (s) => s.trim() === "Bob joined.", "join said");
            for (const text of ["one", "two", "three"]) bob.send(text);
            await until(() => live.innerText(), (s) => /new messages/.test(s), "burst said");
            assert.equal((await live.innerText()).trim(), "3 new messages from Bob.");
            bob.send("four");
            await until(() => live.innerText(), (s) => s.trim() === "Bob: four", "one is read out");
            bob.close();
            await page.context().close();
          },
        );

        await t.step("on phones the tabs control real tab panels", async () => {
          const page = await openPage(browser, srv.httpUrl("/?room=burst"), {
            width: 390,
            height: 844,
          });
          for (const tab of await page.locator('[role="tab"]').all()) {
            const panel = page.locator(`#${await tab.getAttribute("aria-controls")}`);
            assert.equal(await panel.getAttribute("role"), "tabpanel");
            assert.equal(await panel.getAttribute("aria-labelledby"), await tab.getAttribute("id"));
          }
          await page.context().close();
        });

        await t.step(`auto-scroll keeps following after ${MAX_ITEMS} items`, async () => {
          const filler = await sender(srv.wsUrl({ room: "long", name: "Fil" }));
          const total = MAX_ITEMS + 10;
          for (let i = 1; i <= total; i++) filler.send(`fill ${i}`);
          const page = await openPage(browser, srv.httpUrl("/?room=long&name=Rea"));
          await until(() => bubbles(page, "other"), (v) => v.at(-1) === `fill ${total}`, "history");
          assert.equal(await page.locator(".bubble").count(), MAX_ITEMS, "the view is capped");
          const gaps = () =>
            page.locator(".scroll").evaluateAll((els) =>
              els.map((el) => Math.round(el.scrollHeight - el.scrollTop - el.clientHeight))
            );
          await until(gaps, (v) => v.every((d) => d <= 2), "both views at the bottom");
          // Taller than the one-line items the cap drops at the top: a view that did not scroll
          // (the item count no longer changes) would end above its newest line.
          filler.send("one more");
          filler.send("and another, long enough to wrap onto several lines:" + " word".repeat(80));
          await until(
            () => bubbles(page, "other"),
            (v) => v.at(-1)?.startsWith("and another") ?? false,
            "new ones",
          );
          await until(gaps, (v) => v.every((d) => d <= 2), "both views followed");
          filler.close();
          await page.context().close();
        });
      } finally {
        await srv.stop();
      }
    } finally {
      await browser.close();
    }
  },
});
