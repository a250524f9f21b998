/**
 * The web client in real Chromium: two pages in one room, and rooms kept apart.
 */
import assert from "node:assert/strict";
import {
  bubbles,
  CHROMIUM,
  connState,
  launchBrowser,
  logTexts,
  metric,
  openPage,
  pageErrors,
  sendMessage,
  until,
  waitOnline,
} from "../helpers/browser.ts";
import { startTestServer } from "../helpers/server.ts";

Deno.test({
  name: "web client: chat between two pages, rooms kept apart",
  ignore: CHROMIUM.ignore,
  async fn(t) {
    const srv = await startTestServer();
    const browser = await launchBrowser();
    try {
      const a = await openPage(browser, srv.httpUrl("/?room=r1&name=Ann"));
      const b = await openPage(browser, srv.httpUrl("/?room=r1&name=Bob"));

      await t.step("both pages come online and see 2 in the room", async () => {
        await waitOnline(a, "A online");
        await waitOnline(b, "B online");
        await until(() => metric(a, "online"), (v) => v === "2", "A sees 2 online");
        await until(() => metric(b, "online"), (v) => v === "2", "B sees 2 online");
      });

      await t.step(
        "A sends: B shows it in both views, A shows its own delivered bubble",
        async () => {
          await sendMessage(a, "hello from Ann");
          await until(() => bubbles(b, "other"), (v) => v.length === 1, "B's incoming bubble");
          assert.deepEqual(await bubbles(b, "other"), ["hello from Ann"]);
          assert.equal(await b.locator(".group:not(.own) .who").first().innerText(), "Ann");
          assert.deepEqual(await logTexts(b, "message"), ["Ann: hello from Ann"]);
          await until(
            () => a.locator('.bubble[data-kind="own"]').getAttribute("data-status"),
            (s) => s === "delivered",
            "A's bubble delivered",
          );
          assert.deepEqual(await bubbles(a, "own"), ["hello from Ann"]);
          assert.deepEqual(
            await bubbles(a, "other"),
            [],
            "A never shows its own message as incoming",
          );
          assert.deepEqual(await logTexts(a, "message"), []);
          assert.deepEqual(await bubbles(b, "own"), []);
        },
      );

      await t.step("B replies; the metrics count correctly on both sides", async () => {
        await sendMessage(b, "hi Ann");
        await sendMessage(b, "second line");
        await until(() => bubbles(a, "other"), (v) => v.length === 2, "A gets both replies");
        assert.deepEqual(await bubbles(a, "other"), ["hi Ann", "second line"]);
        await until(() => metric(b, "sent"), (v) => v === "2", "B sent 2");
        assert.equal(await metric(a, "sent"), "1");
        assert.equal(await metric(a, "received"), "2");
        assert.equal(await metric(b, "received"), "1");
        assert.equal(await metric(a, "reconnects"), "0");
        // Grouping: B's two messages form one group with one name label on A's page.
        assert.equal(await a.locator(".group:not(.own)").count(), 1);
        // Events on A: its join line, B's join, its own sent message, two received messages.
        const events = Number(await metric(a, "events"));
        assert.equal(events, await a.locator(".entry").count());
        assert.ok(events >= 5, `A logged ${events} events`);
      });

      await t.step("a page in another room sees nothing of r1, and r1 nothing of it", async () => {
        const c = await openPage(browser, srv.httpUrl("/?room=r2&name=Cy"));
        await waitOnline(c, "C online");
        assert.equal(await metric(c, "online"), "1");
        await sendMessage(c, "only in r2");
        await until(
          () => c.locator('.bubble[data-kind="own"]').getAttribute("data-status"),
          (s) => s === "delivered",
          "C's message delivered",
        );
        await sendMessage(a, "still r1");
        await until(() => bubbles(b, "other"), (v) => v.length === 2, "B gets A's second");
        assert.deepEqual(await bubbles(b, "other"), ["hello from Ann", "still r1"]);
        assert.deepEqual(await bubbles(a, "other"), ["hi Ann", "second line"]);
        assert.deepEqual(await bubbles(c, "other"), []);
        assert.equal(await metric(a, "online"), "2");
      });

      await t.step("auto-scroll follows new messages until the reader scrolls up", async () => {
        const list = a.locator(".chat-list");
        const gapToBottom = () =>
          list.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
        for (let i = 1; i <= 20; i++) await sendMessage(b, `line ${i}`);
        await until(() => bubbles(a, "other"), (v) => v.at(-1) === "line 20", "A gets 20 lines");
        await until(gapToBottom, (d) => d <= 2, "A follows to the bottom");
        assert.ok(await list.evaluate((el) => el.scrollHeight > el.clientHeight + 200));
        // Scroll to the top and wait for the scroll event (the island's listener runs first).
        await list.evaluate((el) =>
          new Promise((done) => {
            el.addEventListener("scroll", () => done(null), { once: true });
            el.scrollTo({ top: 0 });
          })
        );
        await sendMessage(b, "while reading above");
        await until(() => bubbles(a, "other"), (v) => v.at(-1) === "while reading above", "got it");
        assert.equal(
          await list.evaluate((el) => el.scrollTop),
          0,
          "the view stays where the reader is",
        );
        await a.click("text=New messages ↓");
        await until(gapToBottom, (d) => d <= 2, "jump to the bottom");
      });

      await t.step("Disconnect explains the disabled composer; Connect comes back", async () => {
        await a.click("button:has-text('Disconnect')");
        await until(() => connState(a), (s) => s === "offline", "A offline");
        assert.equal(await a.locator(".status-text").innerText(), "Disconnected");
        assert.ok(await a.locator("#composer-input").isDisabled());
        assert.match(await a.locator("#composer-help").innerText(), /disconnected.*Connect/i);
        await until(() => metric(b, "online"), (v) => v === "1", "B sees A leave");
        await a.click("button:has-text('Connect')");
        await waitOnline(a, "A online again");
        await until(() => metric(b, "online"), (v) => v === "2", "B sees A back");
        assert.equal(await metric(a, "reconnects"), "0", "a chosen disconnect is no reconnect");
      });

      await t.step("renaming shows the new name to others and is remembered", async () => {
        await b.fill("#name-input", "Bobby");
        await b.press("#name-input", "Enter");
        await waitOnline(b, "B back after rename");
        await sendMessage(b, "new name");
        await until(() => bubbles(a, "other"), (v) => v.at(-1) === "new name", "A gets it");
        assert.equal(await a.locator(".group:not(.own) .who").last().innerText(), "Bobby");
        assert.equal(await b.evaluate(() => localStorage.getItem("fanout.name")), "Bobby");
      });

      await t.step("switching room by the field updates the URL and joins the room", async () => {
        await b.fill("#room-input", "r2");
        await b.press("#room-input", "Enter");
        await until(() => b.evaluate(() => location.search), (s) => s.includes("room=r2"), "URL");
        await until(() => metric(b, "online"), (v) => v === "2", "B sees 2 in r2");
        assert.equal(await b.locator(".room-chip").innerText(), "#r2");
        await until(() => metric(a, "online"), (v) => v === "1", "A alone in r1");
        // "2 online" may still be r1's count (A and B) until r2's welcome arrives: wait for r2.
        await until(
          () => bubbles(b, "other"),
          (v) => v.length === 1 && v[0] === "only in r2",
          "history of r2 replayed",
        );
        assert.equal(await metric(b, "online"), "2", "B sees 2 in r2");
        assert.deepEqual(await bubbles(b, "own"), [], "the chat was cleared for the new room");
      });
      assert.deepEqual([...pageErrors(a), ...pageErrors(b)], [], "no console errors");
    } finally {
      await browser.close();
      await srv.stop();
    }
  },
});
