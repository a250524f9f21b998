/**
 * What the island's `aria-live` region says. New Broadcasts entries are collected for a moment
 * and summed up in one sentence, so a burst reads "3 new messages from Ann, Bob" instead of only
 * its last line (or dozens of interruptions).
 *
 * @module
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { LogEntry } from "./types.ts";

const LONGEST = 140;

function clip(text: string): string {
  return text.length > LONGEST ? text.slice(0, LONGEST - 1) + "…" : text;
}

function names(list: string[]): string {
  const unique = [...new Set(list)];
  if (unique.length <= 3) return unique.join(", ");
  const rest = unique.length - 2;
  return `${unique.slice(0, 2).join(", ")} and ${rest} others`;
}

/**
 * One sentence for a batch of new entries: others' messages (one is read out, several are
 * counted with their senders), joins and leaves, gaps and errors. Our own entries (`own`) and
 * status lines are left out. Empty when there is nothing to say.
 *
 * @example
 * ```ts
 * announcement([
 *   { seq: 1, at: 0, kind: "message", text: "hi", name: "Ann" },
 *   { seq: 2, at: 0, kind: "message", text: "yo", name: "Bob" },
 * ]); // "2 new messages from Ann, Bob."
 * ```
 */
export function announcement(entries: LogEntry[]): string {
  const messages = entries.filter((e) => e.kind === "message" && !e.own);
  const presence = entries.filter((e) => (e.kind === "join" || e.kind === "leave") && !e.own);
  const problems = entries.filter((e) => e.kind === "gap" || e.kind === "error");
  const parts: string[] = [];
  if (messages.length === 1) {
    const m = messages[0];
    parts.push(clip(m.name ? `${m.name}: ${m.text}` : m.text));
  } else if (messages.length > 1) {
    const from = names(messages.map((m) => m.name || "someone"));
    parts.push(`${messages.length} new messages from ${from}.`);
  }
  if (presence.length > 0 && presence.length <= 2) {
    parts.push(...presence.map((e) => `${e.text}.`));
  } else if (presence.length > 2) parts.push(`${presence.length} people joined or left.`);
  for (const e of problems.slice(-2)) parts.push(clip(e.text));
  return parts.join(" ");
}

/**
 * The live region's text: entries newer than the last announcement, summed up after `delayMs`
 * of quiet-ish time (at most one sentence per `delayMs`). Entries present at mount are skipped.
 *
 * @example
 * ```tsx
 * const said = useAnnouncement(state.log);
 * <div aria-live="polite">{said}</div>
 * ```
 */
export function useAnnouncement(log: LogEntry[], delayMs = 700): string {
  const [said, setSaid] = useState("");
  const latest = useRef(log);
  const announcedSeq = useRef<number>(log.at(-1)?.seq ?? 0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  latest.current = log;
  useEffect(() => {
    if (timer.current !== null || (log.at(-1)?.seq ?? 0) <= announcedSeq.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      const fresh = latest.current.filter((e) => e.seq > announcedSeq.current);
      announcedSeq.current = latest.current.at(-1)?.seq ?? announcedSeq.current;
      const text = announcement(fresh);
      // The same words twice would not be read again: vary them invisibly.
      if (text) setSaid((before) => before === text ? text + "\u00a0" : text);
    }, delayMs);
  }, [log]);
  useEffect(() => () => {
    if (timer.current !== null) clearTimeout(timer.current);
  }, []);
  return said;
}
