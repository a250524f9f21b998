/**
 * The Chat view of the island: bubbles grouped by sender, with an auto-scroll that pauses when the
 * reader scrolls up.
 *
 * @module
 */

import type { ChatItem } from "../lib/web/chat/state.ts";
import { clock, groupChat, hue, initials } from "../lib/web/chat/format.ts";
import { useStickToBottom } from "../lib/web/chat/use_stick_to_bottom.ts";

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
