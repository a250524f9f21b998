/**
 * The metrics: events, sent, received, online now, time online, reconnects, last RTT. A row of
 * cards on wide screens; on narrow ones a one-line summary that unfolds the cards.
 *
 * @module
 */

import { useState } from "preact/hooks";
import { useNow } from "../lib/web/chat/clock.ts";
import { timeOnline, type ViewState } from "../lib/web/chat/state.ts";
import { duration } from "../lib/web/chat/format.ts";

/** Props of {@linkcode Metrics}. */
export interface MetricsProps {
  stats: ViewState["stats"];
  /** Messages waiting in the outbox. */
  pending: number;
  /** Online now, so "N online" is current (else it is the last known count). */
  live: boolean;
}

/**
 * Renders the metrics.
 *
 * @example
 * ```tsx
 * <Metrics stats={state.stats} pending={0} live />
 * ```
 */
export function Metrics({ stats, pending, live }: MetricsProps) {
  const [open, setOpen] = useState(false);
  const onlineMs = timeOnline({ stats }, useNow(stats.onlineSince !== null));
  const rtt = stats.rttMs === null ? "–" : `${Math.round(stats.rttMs)} ms`;
  const items: [string, string, string][] = [
    ["events", "Events", String(stats.events)],
    ["sent", "Sent", String(stats.sent)],
    ["received", "Received", String(stats.received)],
    ["online", "Online now", String(stats.online)],
    ["uptime", "Time online", duration(onlineMs)],
    ["reconnects", "Reconnects", String(stats.reconnects)],
    ["rtt", "Last RTT", rtt],
  ];
  return (
    <section
      class="metrics"
      aria-label="Metrics"
      data-open={open ? "true" : "false"}
      data-live={live ? "true" : "false"}
    >
      <button
        type="button"
        class="metrics-toggle"
        aria-expanded={open}
        aria-controls="metrics-list"
        onClick={() => setOpen(!open)}
      >
        <span class="mini" data-mini="online">
          <span class="live-dot" aria-hidden="true" />
          <b>{stats.online}</b> online
        </span>
        <span class="mini">
          <b>{stats.sent}</b> sent{pending > 0 && <em>+{pending}</em>}
        </span>
        <span class="mini">
          <b>{stats.received}</b> received
        </span>
        <span class="mini">
          RTT <b>{rtt}</b>
        </span>
        <span class="more">
          {open ? "Less" : "More"}
          <svg viewBox="0 0 24 24" width="12" height="12" aria-hidden="true" class="chev">
            <path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" stroke-width="2.6" />
          </svg>
        </span>
      </button>
      <dl id="metrics-list">
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
