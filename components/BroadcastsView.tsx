/**
 * The Broadcasts view of the island: every event with its time and kind, with the same
 * auto-scroll as the Chat view.
 *
 * @module
 */

import type { LogEntry } from "../lib/web/chat/state.ts";
import { clock } from "../lib/web/chat/format.ts";
import { useStickToBottom } from "../lib/web/chat/use_stick_to_bottom.ts";

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
              {e.data !== undefined && <pre class="data">{e.data}</pre>}
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
