/**
 * Small formatting helpers of the chat island: clock times, durations, byte counts, grouping.
 *
 * @module
 */

import type { ChatItem } from "./state.ts";

const encoder = new TextEncoder();

/**
 * UTF-8 size of `text` (the server's limit is in bytes).
 *
 * @example
 * ```ts
 * byteLength("hé"); // 3
 * ```
 */
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** Bytes of a message frame around its text, with the longest `ref` the protocol allows (128). */
export const FRAME_ENVELOPE_BYTES =
  byteLength(JSON.stringify({ type: "message", text: "", ref: "" })) + 128;

/**
 * Bytes `text` takes inside a message frame: UTF-8 of its JSON-escaped form, so quotes, newlines
 * and backslashes count as the server counts them.
 *
 * @example
 * ```ts
 * textFrameBytes('a"b'); // 4
 * ```
 */
export function textFrameBytes(text: string): number {
  return byteLength(JSON.stringify(text)) - 2;
}

/**
 * The text the composer sends: line breaks as `\n` only (the server refuses `\r`, a control
 * character; a textarea's value normally has none, but pasted or scripted input may).
 *
 * @example
 * ```ts
 * composerText("a\r\nb\rc"); // "a\nb\nc"
 * ```
 */
export function composerText(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

const two = (n: number) => String(n).padStart(2, "0");

/**
 * `HH:MM` (or `HH:MM:SS` with `seconds`) in local time.
 *
 * @example
 * ```ts
 * clock(Date.now(), true); // "14:03:27"
 * ```
 */
export function clock(ts: number, seconds = false): string {
  const d = new Date(ts);
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  return seconds ? `${hm}:${two(d.getSeconds())}` : hm;
}

/**
 * A duration as `42s`, `3m 05s` or `2h 07m`.
 *
 * @example
 * ```ts
 * duration(185_000); // "3m 05s"
 * ```
 */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${two(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${two(Math.floor(s / 60) % 60)}m`;
}

/**
 * Groups consecutive bubbles of one sender under one name (within five minutes) so only the
 * first shows the name.
 *
 * @example
 * ```ts
 * groupChat(items).map((g) => g.length);
 * ```
 */
export function groupChat(items: ChatItem[]): ChatItem[][] {
  const groups: ChatItem[][] = [];
  for (const item of items) {
    const last = groups.at(-1);
    const prev = last?.at(-1);
    if (
      last && prev && item.kind !== "gap" && prev.kind === item.kind &&
      prev.sender === item.sender && prev.name === item.name &&
      Math.abs(item.ts - prev.ts) < 5 * 60_000
    ) last.push(item);
    else groups.push([item]);
  }
  return groups;
}

/**
 * Two-letter initials for an avatar.
 *
 * @example
 * ```ts
 * initials("Ada Lovelace"); // "AL"
 * initials("bob"); // "B"
 * ```
 */
export function initials(name: string): string {
  const words = name.trim().split(/[\s_.-]+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : (words[0] ?? "?")[0];
  return letters.toUpperCase();
}

/**
 * A stable hue (0-359) for a sender, to color avatars.
 *
 * @example
 * ```ts
 * hue("ann"); // e.g. 212
 * ```
 */
export function hue(key: string): number {
  let h = 0;
  for (const ch of key) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}
