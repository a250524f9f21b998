/**
 * Real-Chromium helpers for the browser tests: one browser per test file, pages with a viewport
 * and color scheme, and polling waits that fail with what they last saw.
 *
 * @module
 */

import type { Browser, Page } from "playwright-core";
import { requireBinary } from "./requires.ts";

/** Chromium for the tests (skipped loudly outside CI when missing). */
export const CHROMIUM: { path: string; ignore: boolean } = requireBinary("Chromium", [
  "/usr/bin/chromium",
]);

/**
 * Launches headless Chromium with flags that keep it quiet and offline.
 *
 * @example
 * ```ts
 * const browser = await launchBrowser();
 * try { ... } finally { await browser.close(); }
 * ```
 */
export async function launchBrowser(): Promise<Browser> {
  // Imported here: loading playwright-core reads the environment, which a bare `deno test` may not.
  const { chromium } = await import("playwright-core");
  return await chromium.launch({
    executablePath: CHROMIUM.path,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

const consoleErrors = new WeakMap<Page, string[]>();

/**
 * Console errors and uncaught exceptions a page opened by {@linkcode openPage} has reported.
 *
 * @example
 * ```ts
 * assert.deepEqual(pageErrors(page), []);
 * ```
 */
export function pageErrors(page: Page): string[] {
  return consoleErrors.get(page) ?? [];
}

/** Options of {@linkcode openPage}. */
export interface PageOptions {
  width?: number;
  height?: number;
  colorScheme?: "light" | "dark";
}

/**
 * Opens `url` in a fresh context (own storage) and waits until the island is hydrated.
 *
 * @example
 * ```ts
 * const page = await openPage(browser, srv.httpUrl("/?room=r1"));
 * ```
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: PageOptions = {},
): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
    colorScheme: options.colorScheme ?? "light",
  });
  const page = await context.newPage();
  const errors: string[] = [];
  consoleErrors.set(page, errors);
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  await page.goto(url);
  await page.waitForSelector(".app[data-ready=true]", { timeout: 10_000 }).catch((err) => {
    throw new Error(`island did not hydrate at ${url}: ${errors.join("; ") || err}`);
  });
  return page;
}

/**
 * Polls `read` until `ok` accepts its value (default timeout 10 s); throws with the last value.
 *
 * @example
 * ```ts
 * await until(() => metric(page, "online"), (v) => v === "2");
 * ```
 */
export async function until<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what = "condition",
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!ok(last)) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
    last = await read();
  }
  return last;
}

/**
 * The connection state the page's status shows (`data-state`: `starting`, `idle`, `connecting`,
 * `online`, `reconnecting`, `offline`).
 *
 * @example
 * ```ts
 * await connState(page); // "online"
 * ```
 */
export function connState(page: Page): Promise<string | null> {
  return page.locator(".status").getAttribute("data-state");
}

/**
 * Waits until the page shows it is online (default timeout 10 s).
 *
 * @example
 * ```ts
 * await waitOnline(page, "A online");
 * ```
 */
export function waitOnline(page: Page, what = "online", timeoutMs = 10_000): Promise<unknown> {
  return until(() => connState(page), (s) => s === "online", what, timeoutMs);
}

/**
 * Text of a metric card (`events`, `sent`, `received`, `online`, `uptime`, `reconnects`, `rtt`).
 *
 * @example
 * ```ts
 * await metric(page, "sent"); // "1"
 * ```
 */
export function metric(page: Page, key: string): Promise<string> {
  return page.locator(`[data-metric="${key}"] dd`).innerText();
}

/**
 * Texts of the chat bubbles of one kind (`own` or `other`), in order.
 *
 * @example
 * ```ts
 * await bubbles(page, "other"); // ["hello"]
 * ```
 */
export function bubbles(page: Page, kind: "own" | "other"): Promise<string[]> {
  return page.locator(`.bubble[data-kind="${kind}"] .text`).allInnerTexts();
}

/**
 * Bodies of the Broadcasts entries of one kind, in order.
 *
 * @example
 * ```ts
 * await logTexts(page, "message"); // ["Ann: hello"]
 * ```
 */
export function logTexts(page: Page, kind: string): Promise<string[]> {
  return page.locator(`.entry[data-kind="${kind}"] .body`).allInnerTexts();
}

/**
 * Types `text` into the composer and presses Enter.
 *
 * @example
 * ```ts
 * await sendMessage(page, "hello");
 * ```
 */
export async function sendMessage(page: Page, text: string): Promise<void> {
  await page.fill("#composer-input", text);
  await page.press("#composer-input", "Enter");
}
