/**
 * Which display name the web client starts with, and where it is kept: a `?name=` in the link
 * wins once and is saved; after that the saved name (localStorage) is used, so a rename survives
 * reloads. Names are checked with the server's own rule (`lib/protocol/names.ts`); an invalid saved
 * name is dropped so it cannot break every later visit.
 *
 * @module
 */

import { nameProblem } from "../../protocol/names.ts";
import type { KeyStorage } from "./storage.ts";

/** localStorage key of the saved display name. */
export const NAME_KEY = "fanout.name";

/** Result of {@linkcode startName}. */
export interface StartName {
  name: string;
  /** Something the user should know: a name from the link or a saved one was not usable. */
  notice: string | null;
}

/**
 * Picks the starting name: the link's (saved for next time), else the saved one, else
 * `guest-NNNN`. Storage that throws counts as empty.
 *
 * @example
 * ```ts
 * startName("Ann", localStorage).name; // "Ann", and saved
 * startName(null, localStorage).name; // "Ann" again on the next visit
 * ```
 */
export function startName(
  fromUrl: string | null,
  storage: KeyStorage | null,
  random: () => number = Math.random,
): StartName {
  const guest = `guest-${Math.floor(1000 + random() * 9000)}`;
  const notices: string[] = [];
  if (fromUrl !== null) {
    const problem = nameProblem(fromUrl);
    if (problem === null) {
      const name = fromUrl.trim();
      saveName(storage, name);
      return { name, notice: null };
    }
    notices.push(`The name in the link was not used: ${problem}.`);
  }
  let stored: string | null = null;
  try {
    stored = storage?.getItem(NAME_KEY) ?? null;
  } catch {
    stored = null;
  }
  if (stored !== null) {
    const problem = nameProblem(stored);
    if (problem === null) return { name: stored.trim(), notice: notices.join(" ") || null };
    try {
      storage?.removeItem(NAME_KEY);
    } catch {
      // nothing to clean up
    }
    notices.push(`Your saved name was reset: ${problem}.`);
  }
  return { name: guest, notice: notices.join(" ") || null };
}

/**
 * Saves `name` for the next visit; returns false when storage refused it.
 *
 * @example
 * ```ts
 * saveName(localStorage, "Ann"); // true
 * ```
 */
export function saveName(storage: KeyStorage | null, name: string): boolean {
  try {
    storage?.setItem(NAME_KEY, name);
    return storage !== null;
  } catch {
    return false;
  }
}

/**
 * The page URL without `name` (it stays private: the link is shared by room only), or null when
 * there was none.
 *
 * @example
 * ```ts
 * withoutName("http://h/?room=dev&name=Ann"); // "http://h/?room=dev"
 * ```
 */
export function withoutName(href: string): string | null {
  const url = new URL(href);
  if (!url.searchParams.has("name")) return null;
  url.searchParams.delete("name");
  return url.href;
}
