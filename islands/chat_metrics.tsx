/**
 * The metrics strip: events, sent, received, online now, time online, reconnects, last RTT.
 *
 * @module
 */

import type { ViewState } from "./chat_state.ts";
import { duration } from "./chat_format.ts";

/**
 * Renders the metrics; `onlineMs` is computed by the caller so it ticks.
 *
 * @example
 * ```tsx
 * <Metrics stats={state.stats} onlineMs={timeOnline(state, now)} pending={0} />
 * ```
 */
export function Metrics(
  { stats, onlineMs, pending }: { stats: ViewState["stats"]; onlineMs: number; pending: number },
) {
  const items: [string, string, string][] = [
    ["events", "Events", String(stats.events)],
    ["sent", "Sent", String(stats.sent)],
    ["received", "Received", String(stats.received)],
    ["online", "Online now", String(stats.online)],
    ["uptime", "Time online", duration(onlineMs)],
    ["reconnects", "Reconnects", String(stats.reconnects)],
    ["rtt", "Last RTT", stats.rttMs === null ? "–" : `${Math.round(stats.rttMs)} ms`],
  ];
  return (
    <section class="metrics" aria-label="Metrics">
      <dl>
        {items.map(([key, label, value]) => (
          <div class="metric" key={key} data-metric={key}>
            <dt>{label}</dt>
            <dd>
              {value}
              {key === "sent" && pending > 0 && <small>{pending} pending</small>}
            </dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
