/**
 * The per-tab client id of the web client. It lives in sessionStorage so that a reload keeps it
 * (the server then leaves one's own messages out of a resumed replay, and a fresh join shows them
 * as one's own). A duplicated tab copies sessionStorage, so the id alone is not enough: a live page
 * also keeps a marker next to it, removed on `pagehide`. A page that finds the marker set was
 * copied from a page that is still open, and takes a new id.
 *
 * @module
 */

import { randomToken } from "../../shared/ids.ts";
import { browserStorage, type KeyStorage } from "./storage.ts";

/** sessionStorage key of the client id. */
export const CLIENT_KEY = "fanout.client";
/** sessionStorage key of the marker: the id held by the page that is open now. */
export const LIVE_KEY = "fanout.client.live";

const VALID = /^[A-Za-z0-9_-]{8,64}$/;

function cryptoRandom(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] / 2 ** 32;
}

/**
 * Claims the tab's client id: the stored one after a reload, a new one in a new tab, in a
 * duplicated tab (the marker of the still-open original came along) and when the stored value is
 * invalid. Storage that throws (disabled, private mode) gives a fresh id each time.
 *
 * @example
 * ```ts
 * const id = tabClientId(sessionStorage);
 * addEventListener("pagehide", () => releaseTabClientId(sessionStorage, id));
 * ```
 */
export function tabClientId(
  storage: KeyStorage | null = browserStorage("sessionStorage"),
  random: () => number = cryptoRandom,
): string {
  try {
    if (!storage) throw new Error("no storage");
    let id = storage.getItem(CLIENT_KEY);
    if (!id || !VALID.test(id) || storage.getItem(LIVE_KEY) === id) {
      id = randomToken(16, random);
      storage.setItem(CLIENT_KEY, id);
    }
    storage.setItem(LIVE_KEY, id);
    return id;
  } catch {
    return randomToken(16, random);
  }
}

/**
 * The page is going away (`pagehide`, also before a reload): lets the next page of this tab
 * reuse `id`. A page restored from the back/forward cache claims it again with
 * {@linkcode holdTabClientId}.
 *
 * @example
 * ```ts
 * releaseTabClientId(sessionStorage, id);
 * ```
 */
export function releaseTabClientId(storage: KeyStorage | null, id: string): void {
  try {
    if (storage?.getItem(LIVE_KEY) === id) storage.removeItem(LIVE_KEY);
  } catch {
    // Storage unavailable: nothing was claimed.
  }
}

/**
 * Marks `id` as held by the open page again (after a back/forward-cache restore).
 *
 * @example
 * ```ts
 * addEventListener("pageshow", (e) => e.persisted && holdTabClientId(sessionStorage, id));
 * ```
 */
export function holdTabClientId(storage: KeyStorage | null, id: string): void {
  try {
    storage?.setItem(LIVE_KEY, id);
  } catch {
    // Storage unavailable: the id is not shared with anyone.
  }
}
