/**
 * The browser's key-value storage as the island uses it: localStorage for the saved name,
 * sessionStorage for the tab's client id. Either may be missing or throw on access (storage
 * disabled, a sandboxed frame); callers then get null and carry on without it.
 *
 * @module
 */

/** The parts of `Storage` the island uses (tests pass a fake). */
export interface KeyStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * `localStorage` or `sessionStorage`, or null where the browser does not allow it.
 *
 * @example
 * ```ts
 * const session = browserStorage("sessionStorage"); // null in a sandboxed frame
 * ```
 */
export function browserStorage(kind: "localStorage" | "sessionStorage"): KeyStorage | null {
  try {
    return globalThis[kind] ?? null;
  } catch {
    return null;
  }
}
