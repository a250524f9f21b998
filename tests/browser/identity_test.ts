/**
 * Who the page is, in real Chromium: display names the server would refuse (from the link, saved,
 * or typed), the name kept out of the shareable URL and kept across reloads, own messages after a
 * reload or a room switch, and a duplicated tab that must not share the client id.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
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
import { startTestServer, type TestServer } from "../helpers/server.ts";

const clientId = (page: Page) => page.evaluate(() => sessionStorage.getItem("fanout.client"));
const notices = (page: Page) => page.locator(".notice span").allInnerTexts();
const delivered = (page: Page, text: string) =>
  until(
    () => page.locator('.bubble[data-kind="own"][data-status="delivered"] .text').allInnerTexts(),
    (v) => v.includes(text),
    `"${text}" delivered`,
  );
const LONG = "x".repeat(40);

/** A page in the same browser context as `like`, started with a copy of its sessionStorage. */
async function duplicateOf(like: Page, url: string): Promise<Page> {
  const copied = await like.evaluate(() => JSON.stringify(Object.entries(sessionStorage)));
  const page = await like.context().newPage();
  await page.addInitScript((entries: string) => {
    if (sessionStorage.length > 0) return; // only before the first load, like "Duplicate tab"
    for (const [key, value] of JSON.parse(entries)) sessionStorage.setItem(key, value);
  }, copied);
  await page.goto(url);
  await page.waitForSelector(".app[data-ready=true]", { timeout: 10_000 });
  return page;
}

async function names(browser: Browser, srv: TestServer) {
  // 1. A 40-character name in the link: the page still starts (the server allows 32).
  const page = await openPage(browser, srv.httpUrl(`/?room=names&name=${LONG}`));
  await waitOnline(page, "online despite a too-long name in the link");
  assert.match((await notices(page)).join(" "), /name in the link was not used.*1-32 characters/);
  assert.match(await page.inputValue("#name-input"), /^guest-\d{4}$/);
  assert.equal(await page.getAttribute("#name-input", "maxlength"), "32");

  // Typing 40 characters stops at 32; a bidi override is refused with a visible reason.
  await page.fill("#name-input", LONG);
  assert.equal((await page.inputValue("#name-input")).length, 32);
  await page.fill("#name-input", "Ann\u202Eevil");
  await page.press("#name-input", "Enter");
  assert.match(await page.locator("#name-error").innerText(), /control or bidi-override/);
  assert.equal(await page.getAttribute("#name-input", "aria-invalid"), "true");
  assert.equal(await page.evaluate(() => localStorage.getItem("fanout.name")), null);
  assert.equal(await connState(page), "online");
  await page.fill("#name-input", "x".repeat(32));
  await page.press("#name-input", "Enter");
  await until(
    () => page.evaluate(() => localStorage.getItem("fanout.name")),
    (n) => n !== null,
    "32 ok",
  );
  await waitOnline(page, "online with a 32-character name");

  // A bad name saved by an older page is dropped; the page starts with a guest name.
  await page.evaluate((n) => localStorage.setItem("fanout.name", n), LONG);
  await page.goto(srv.httpUrl("/?room=names"));
  await page.waitForSelector(".app[data-ready=true]");
  await waitOnline(page, "online after reload with a bad saved name");
  assert.match((await notices(page)).join(" "), /saved name was reset/);
  assert.equal(await page.evaluate(() => localStorage.getItem("fanout.name")), null);
  assert.match(await page.inputValue("#name-input"), /^guest-\d{4}$/);
  assert.deepEqual(pageErrors(page), []);
  await page.context().close();
}

Deno.test({
  name: "web client identity: names, shareable URL, own messages, duplicated tabs",
  ignore: CHROMIUM.ignore,
  async fn(t) {
    const srv = await startTestServer();
    const browser = await launchBrowser();
    try {
      await t.step("names the server would refuse never brick the page", () => names(browser, srv));

      const a = await openPage(browser, srv.httpUrl("/?room=who&name=Ann"));
      const peer = await openPage(browser, srv.httpUrl("/?room=who&name=Pat"));
      await waitOnline(a, "A online");
      await waitOnline(peer, "peer online");

      await t.step(
        "the name is saved and taken out of the URL, also after a room switch",
        async () => {
          assert.equal(await a.evaluate(() => location.search), "?room=who");
          assert.equal(await a.evaluate(() => localStorage.getItem("fanout.name")), "Ann");
          await a.fill("#room-input", "who2");
          await a.press("#room-input", "Enter");
          await until(() => a.evaluate(() => location.search), (s) => s === "?room=who2", "URL");
          await a.goBack();
          await until(() => a.evaluate(() => location.search), (s) => s === "?room=who", "back");
          await waitOnline(a, "A back in #who");
        },
      );

      await t.step("a rename survives a reload, and own messages come back as own", async () => {
        await a.fill("#name-input", "Bea");
        await a.press("#name-input", "Enter");
        await waitOnline(a, "A online after the rename");
        await sendMessage(a, "before reload");
        await delivered(a, "before reload");
        const id = await clientId(a);
        await a.reload();
        await a.waitForSelector(".app[data-ready=true]");
        await waitOnline(a, "A online after reload");
        assert.equal(await clientId(a), id, "a reload keeps the tab's client id");
        assert.equal(await a.inputValue("#name-input"), "Bea");
        await delivered(a, "before reload");
        assert.deepEqual(await bubbles(a, "other"), [], "never shown as someone else's");
        await sendMessage(a, "after reload");
        await until(() => bubbles(peer, "other"), (v) => v.includes("after reload"), "peer");
        assert.equal(await peer.locator(".group:not(.own) .who").last().innerText(), "Bea");
      });

      await t.step("own messages stay own after switching rooms and back", async () => {
        await a.fill("#room-input", "who3");
        await a.press("#room-input", "Enter");
        await waitOnline(a, "A in #who3");
        assert.deepEqual(await bubbles(a, "own"), []);
        await a.fill("#room-input", "who");
        await a.press("#room-input", "Enter");
        await waitOnline(a, "A back in #who");
        await delivered(a, "after reload");
        await delivered(a, "before reload");
      });

      await t.step(
        "a duplicated tab gets its own client id and sees the original live",
        async () => {
          const copy = await duplicateOf(a, srv.httpUrl("/?room=who"));
          await waitOnline(copy, "the copy online");
          const [original, duplicate] = [await clientId(a), await clientId(copy)];
          assert.ok(duplicate && original && duplicate !== original, `${original} / ${duplicate}`);
          await sendMessage(a, "live from the original");
          await until(
            () => bubbles(copy, "other"),
            (v) => v.includes("live from the original"),
            "the copy shows the original's live message",
          );
          await sendMessage(copy, "live from the copy");
          await until(() => bubbles(a, "other"), (v) => v.includes("live from the copy"), "back");
          // The copy reloads: it keeps its new id.
          await copy.reload();
          await copy.waitForSelector(".app[data-ready=true]");
          assert.equal(await clientId(copy), duplicate);
        },
      );
      assert.deepEqual([...pageErrors(a), ...pageErrors(peer)], []);
    } finally {
      await browser.close();
      await srv.stop();
    }
  },
});
