/**
 * The page's layout in real Chromium: side by side on desktop, tabs at 390 and 360 px, light and
 * dark, keyboard only, and the shell without JavaScript. With `SCREENSHOTS=1` it also writes
 * `docs/screenshot-{desktop,mobile}-{light,dark}.png`.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import {
  bubbles,
  CHROMIUM,
  launchBrowser,
  openPage,
  sendMessage,
  until,
  waitOnline,
} from "../helpers/browser.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { envOr } from "../helpers/requires.ts";

const SHOTS = envOr("SCREENSHOTS", "") === "1";
const visible = (page: Page, sel: string) => page.locator(sel).isVisible();
const overflowX = (page: Page) =>
  page.evaluate(() => document.documentElement.scrollWidth - globalThis.innerWidth);

async function conversation(browser: Browser, srv: TestServer, room: string): Promise<void> {
  const ann = await openPage(browser, srv.httpUrl(`/?room=${room}&name=Ann%20Lee`));
  const bob = await openPage(browser, srv.httpUrl(`/?room=${room}&name=Bob`));
  const lines: [Page, string][] = [
    [ann, "Morning! Is the deploy done?"],
    [bob, "Almost. The last region is draining now."],
    [bob, "Reconnects look smooth: no lost messages."],
    [ann, "Great, ping me when it is green."],
  ];
  for (const [page, text] of lines) {
    await sendMessage(page, text);
    await until(() => bubbles(page, "own"), (v) => v.includes(text), "own bubble");
  }
  await until(() => bubbles(bob, "other"), (v) => v.length === 2, "Bob got Ann's lines");
  await ann.context().close();
  await bob.context().close();
}

const box = (page: Page, sel: string) =>
  page.locator(sel).first().evaluate((el) => {
    const r = el.getBoundingClientRect();
    return { top: r.top, bottom: r.bottom, height: r.height };
  });

/**
 * On phones the header is one line, the metrics one line that unfolds, the name and room fields
 * sit behind the room button, and the chat list starts within the top fifth of the screen.
 */
async function chatGetsTheRoom(page: Page, width: number, height: number): Promise<void> {
  const list = await box(page, ".chat-list");
  assert.ok(list.top <= height * 0.2, `chat starts at ${list.top}px of ${height} (${width} wide)`);
  const row = await box(page, ".top-row");
  assert.ok(row.height <= 44, `the header is one line (${row.height}px)`);
  for (const sel of ["#conn-toggle", ".status", ".brand"]) {
    const b = await box(page, sel);
    assert.ok(b.top >= row.top && b.bottom <= row.bottom, `${sel} in the header line`);
  }
  // The short status words are aria-hidden: the long ones must still reach screen readers.
  assert.equal(await page.locator(".status").ariaSnapshot(), "- status: Online");
  assert.equal(await visible(page, "#name-input"), false, "fields are folded away");
  await page.click(".settings-toggle");
  assert.ok(await visible(page, "#name-input"));
  assert.ok(await visible(page, "#room-input"));
  await page.click(".settings-toggle");
  assert.equal(await visible(page, '[data-metric="online"]'), false);
  assert.match(await page.locator(".metrics-toggle").innerText(), /\d+ online/);
  await page.click(".metrics-toggle");
  for (const key of ["online", "uptime", "rtt", "reconnects"]) {
    assert.ok(await visible(page, `[data-metric="${key}"]`), `${key} shown when unfolded`);
  }
  await page.click(".metrics-toggle");
  // With the keyboard open (the viewport resizes to the content), the chat keeps its room.
  const viewport = await page.evaluate(() =>
    document.querySelector('meta[name="viewport"]')?.getAttribute("content")
  );
  assert.match(viewport ?? "", /interactive-widget=resizes-content/);
  await page.setViewportSize({ width, height: 500 });
  const small = await box(page, ".chat-list");
  assert.ok(small.height >= 200, `chat list ${small.height}px tall at ${width}x500`);
  await page.setViewportSize({ width, height });
}

Deno.test({
  name: "web client layout: desktop, mobile, dark, keyboard, no JavaScript",
  ignore: CHROMIUM.ignore,
  async fn(t) {
    const srv = await startTestServer();
    const browser = await launchBrowser();
    try {
      await conversation(browser, srv, "design");

      await t.step("desktop: Chat and Broadcasts side by side, no tabs", async () => {
        for (const scheme of ["light", "dark"] as const) {
          const who = scheme === "light" ? "Cleo" : "Dev";
          const page = await openPage(browser, srv.httpUrl(`/?room=design&name=${who}`), {
            colorScheme: scheme,
          });
          const history = scheme === "light" ? 4 : 5;
          await until(
            () => bubbles(page, "other"),
            (v) => v.length === history,
            "history replayed",
          );
          await sendMessage(page, `${who} here, joining late: the history was replayed.`);
          assert.ok(await visible(page, "#pane-chat"));
          assert.ok(await visible(page, "#pane-log"));
          assert.equal(await visible(page, '[role="tablist"]'), false);
          assert.ok((await overflowX(page)) <= 0);
          const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
          assert.equal(bg, scheme === "dark" ? "rgb(13, 15, 22)" : "rgb(244, 245, 250)");
          await until(
            () => page.locator(".bubble[data-status=delivered]").count(),
            (n) => n === 1,
            "sent",
          );
          await until(
            () => page.locator('[data-metric="uptime"] dd').innerText(),
            (v) => v !== "0s",
            "time online ticking",
          );
          if (SHOTS) {
            await page.screenshot({ path: `docs/screenshot-desktop-${scheme}.png` });
          }
          await page.context().close();
        }
      });

      await t.step("390 and 360 px: tabs switch the views, nothing overflows", async () => {
        const sizes = [[390, 844, "light"], [390, 844, "dark"], [360, 740, "light"]] as const;
        for (const [width, height, scheme] of sizes) {
          const page = await openPage(browser, srv.httpUrl("/?room=design&name=Dee"), {
            width,
            height,
            colorScheme: scheme,
          });
          await until(() => bubbles(page, "other"), (v) => v.length >= 4, "history");
          assert.ok(await visible(page, '[role="tablist"]'));
          assert.ok(await visible(page, "#pane-chat"));
          assert.equal(await visible(page, "#pane-log"), false);
          assert.ok((await overflowX(page)) <= 0, `no horizontal scroll at ${width}px`);
          await chatGetsTheRoom(page, width, height);
          if (SHOTS && width === 390) {
            await page.screenshot({ path: `docs/screenshot-mobile-${scheme}.png` });
          }
          await page.click("#tab-log");
          assert.ok(await visible(page, "#pane-log"));
          assert.equal(await visible(page, "#pane-chat"), false);
          await page.press("#tab-log", "ArrowLeft");
          assert.ok(await visible(page, "#pane-chat"));
          assert.equal(await page.evaluate(() => document.activeElement?.id), "tab-chat");
          await page.context().close();
        }
      });

      await t.step(
        "360 px while reconnecting: countdown, Retry now and the toggle fit",
        async () => {
          const gone = await startTestServer();
          const page = await openPage(browser, gone.httpUrl("/?room=fit&backoff=20000-20000"), {
            width: 360,
            height: 740,
          });
          await waitOnline(page, "online");
          await gone.stop();
          await until(
            () => page.locator(".status-short").innerText(),
            (s) => /^Retry/.test(s),
            "wait",
          );
          for (const sel of [".status", ".retry", "#conn-toggle", ".settings-toggle"]) {
            const b = await page.locator(sel).evaluate((el) => el.getBoundingClientRect().toJSON());
            assert.ok(
              b.left >= 0 && b.right <= 360 && b.width > 0,
              `${sel} fits: ${JSON.stringify(b)}`,
            );
          }
          assert.ok((await overflowX(page)) <= 0);
          await page.context().close();
        },
      );

      await t.step("keyboard only: Tab reaches the composer and Enter sends", async () => {
        const page = await openPage(browser, srv.httpUrl("/?room=keys&name=Kay"));
        await waitOnline(page, "online");
        let focused = "";
        for (let i = 0; i < 20 && focused !== "composer-input"; i++) {
          await page.keyboard.press("Tab");
          focused = await page.evaluate(() => document.activeElement?.id ?? "");
        }
        assert.equal(focused, "composer-input");
        await page.keyboard.type("typed with the keyboard");
        await page.keyboard.press("Enter");
        await until(() => bubbles(page, "own"), (v) => v.length === 1, "sent by keyboard");
        const live = await page.locator("[aria-live]").count();
        assert.ok(live >= 1, "an aria-live region exists");
        await page.context().close();
      });

      await t.step(
        "without JavaScript the shell renders and says JavaScript is needed",
        async () => {
          const context = await browser.newContext({ javaScriptEnabled: false });
          const page = await context.newPage();
          await page.goto(srv.httpUrl("/?room=nojs"));
          assert.match(await page.locator(".noscript").innerText(), /JavaScript is needed/);
          assert.ok(await visible(page, ".top"));
          assert.equal(await page.locator(".room-chip").innerText(), "#nojs");
          assert.ok(await page.locator("#composer-input").isDisabled());
          await context.close();
        },
      );
    } finally {
      await browser.close();
      await srv.stop();
    }
  },
});
