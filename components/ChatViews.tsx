/**
 * The two views of the island: Chat (bubbles grouped by sender, auto-scroll that pauses when the
 * reader scrolls up) and Broadcasts (every event with time and kind).
 *
 * @module
 */

import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ChatItem, LogEntry } from "../lib/web/chat/state.ts";
import { clock, groupChat, hue, initials } from "../lib/web/chat/format.ts";

/**
 * Follows new content while the reader is at the bottom; returns the "jump" state. `last` is the
 * key of the newest item: the count stops changing once the list is capped, the key does not.
 */
function useStickToBottom<T extends HTMLElement>(last: string | number | undefined) {
  const ref = useRef<T>(null);
  const stick = useRef(true);
  const [unseen, setUnseen] = useState(false);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (stick.current) el.scrollTop = el.scrollHeight;
    else if (last !== undefined) setUnseen(true);
  }, [last]);
  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 48;
    if (stick.current) setUnseen(false);
  };
  const jump = () => {
    const el = ref.current;
    if (!el) return;
    stick.current = true;
    setUnseen(false);
    el.scrollTop = el.scrollHeight;
  };
  return { ref, onScroll, unseen, jump };
}

const MARK = {
  queued: { icon: "◷", label: "Queued, will send when online" },
  sent: { icon: "✓", label: "Sent, waiting for the server" },
  delivered: { icon: "✓✓", label: "Delivered" },
  failed: { icon: "!", label: "Not delivered: the server refused it" },
};

/**
 * The Chat view.
 *
 * @example
 * ```tsx
 * <ChatView items={state.chat} empty="No messages yet." />
 * ```
 */
export function ChatView({ items, empty }: { items: ChatItem[]; empty: string }) {
  const { ref, onScroll, unseen, jump } = useStickToBottom<HTMLDivElement>(items.at(-1)?.key);
  return (
    <div class="scroll-wrap">
      <div class="scroll chat-list" ref={ref} onScroll={onScroll} tabIndex={0} aria-label="Chat">
        {items.length === 0 && <p class="empty">{empty}</p>}
        {groupChat(items).map((group) => {
          const first = group[0];
          if (first.kind === "gap") {
            return (
              <div class="gap" data-kind="gap" key={first.key} role="note">
                <span>{first.text}</span>
              </div>
            );
          }
          const own = first.kind === "own";
          return (
            <div class={own ? "group own" : "group"} key={first.key}>
              {!own && (
                <span
                  class="avatar"
                  aria-hidden="true"
                  style={{ "--h": String(hue(first.sender)) }}
                >
                  {initials(first.name)}
                </span>
              )}
              <div class="stack">
                {!own && <div class="who">{first.name}</div>}
                {group.map((m) => (
                  <div
                    class="bubble"
                    key={m.key}
                    data-kind={m.kind}
                    data-status={m.status}
                    data-sender={m.sender}
                  >
                    <span class="text">{m.text}</span>
                    <span class="meta">
                      <time dateTime={new Date(m.ts).toISOString()}>{clock(m.ts)}</time>
                      {m.status && (
                        <span class="mark" title={MARK[m.status].label}>
                          <span aria-hidden="true">{MARK[m.status].icon}</span>
                          <span class="sr-only">{MARK[m.status].label}</span>
                        </span>
                      )}
                    </span>
                  </div>
                ))}
              </div>
            </div>
          );
        })}
      </div>
      {unseen && (
        <button type="button" class="btn jump" onClick={jump}>
          New messages ↓
        </button>
      )}
    </div>
  );
}

/**
 * The Broadcasts view.
 *
 * @example
 * ```tsx
 * <BroadcastsView entries={state.log} />
 * ```
 */
export function BroadcastsView({ entries }: { entries: LogEntry[] }) {
  const { ref, onScroll, unseen, jump } = useStickToBottom<HTMLOListElement>(entries.at(-1)?.seq);
  return (
    <div class="scroll-wrap">
      <ol class="scroll log" ref={ref} onScroll={onScroll} tabIndex={0} aria-label="Broadcasts">
        {entries.length === 0 && <li class="empty">No events yet.</li>}
        {entries.map((e) => (
          <li key={e.seq} class="entry" data-kind={e.kind}>
            <time dateTime={new Date(e.at).toISOString()}>{clock(e.at, true)}</time>
            <span class="kind">{e.kind}</span>
            <span class="body">
              {e.name !== undefined && <b>{e.name}:</b>} {e.text}
            </span>
          </li>
        ))}
      </ol>
      {unseen && (
        <button type="button" class="btn jump" onClick={jump}>
          New events ↓
        </button>
      )}
    </div>
  );
}
