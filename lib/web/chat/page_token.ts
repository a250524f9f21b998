/**
 * The web client's token in auth mode: an app links to the page with `#token=<jwt>` in the URL
 * fragment (browsers never send fragments to servers). The page keeps it in sessionStorage (this
 * tab only, gone when the tab closes) and takes it out of the address bar, so it is not shared,
 * bookmarked or kept in history.
 *
 * @module
 */

import type { KeyStorage } from "./storage.ts";

/** sessionStorage key of the tab's token. */
export const TOKEN_KEY = "fanout.token";

/** What {@linkcode pageToken} found: the token, and the address to show without it (or null). */
export interface PageToken {
  token: string | null;
  /** The page URL without `token` in its fragment; null when there was none to remove. */
  clean: string | null;
}

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Reads `#token=<jwt>` from `href` (saving it in `session`), else the token saved before.
 *
 * @example
 * ```ts
 * const { token, clean } = pageToken(location.href, browserStorage("sessionStorage"));
 * if (clean !== null) history.replaceState(history.state, "", clean);
 * ```
 */
export function pageToken(href: string, session: KeyStorage | null): PageToken {
  const url = new URL(href);
  const fragment = new URLSearchParams(url.hash.slice(1));
  const fromUrl = fragment.get("token");
  let clean: string | null = null;
  if (fromUrl !== null) {
    fragment.delete("token");
    const rest = fragment.toString();
    url.hash = rest === "" ? "" : `#${rest}`;
    clean = url.href;
  }
  if (fromUrl !== null && JWT.test(fromUrl)) {
    try {
      session?.setItem(TOKEN_KEY, fromUrl);
    } catch {
      // Storage refused: the token still works for this page view.
    }
    return { token: fromUrl, clean };
  }
  let saved: string | null = null;
  try {
    saved = session?.getItem(TOKEN_KEY) ?? null;
  } catch {
    saved = null;
  }
  return { token: saved !== null && JWT.test(saved) ? saved : null, clean };
}
