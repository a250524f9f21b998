/**
 * A rate limit on log lines: per event name, at most N lines per window; the rest of the window's
 * lines of that event are counted by reason and summed up in one `<event>.suppressed` line when
 * the window ends. A loop of refused handshakes (24 000 a second) then costs a few lines per
 * 10 s instead of flooding the log.
 *
 * @module
 */

import { realTimers, type Timers } from "./timers.ts";
import type { LogFields, Logger, LogLevel } from "./log.ts";

/**
 * Options of {@linkcode createLogThrottle}.
 *
 * @example
 * ```ts
 * const options: LogThrottleOptions = { linesPerEvent: 5, now: clock.now, setTimer: clock.set };
 * ```
 */
export interface LogThrottleOptions {
  /** Lines written per event name and window; 0 turns the throttle off (default 20). */
  linesPerEvent?: number;
  /** Length of a window in ms (default 10 000). */
  windowMs?: number;
  /** Events below this level are passed on uncounted, the inner logger drops them (default debug). */
  level?: LogLevel;
  /** Events that are never throttled (default: names starting with `server.`). */
  exempt?: (event: string) => boolean;
  /** Distinct reasons listed in a summary; the rest count as `other` (default 16). */
  maxReasons?: number;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /** Timers for the ends of windows (default `setTimeout` and `clearTimeout`). */
  timers?: Timers;
}

/**
 * A throttled logger; {@linkcode LogThrottle.flush} ends every window at once.
 *
 * @example
 * ```ts
 * const log: LogThrottle = createLogThrottle(createLogger());
 * log.info("ws.refused", { reason: "handshake_full" });
 * log.flush();
 * ```
 */
export interface LogThrottle extends Logger {
  /** Writes the summary of every window with suppressed lines now and cancels their timers. */
  flush(): void;
}

interface Window {
  start: number;
  written: number;
  suppressed: number;
  /** Most severe level among the suppressed lines: the summary's level. */
  level: LogLevel;
  reasons: Map<string, number>;
  timer: unknown;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const OTHER = "other";

function reasonOf(fields: LogFields | undefined): string {
  const value = fields?.reason ?? fields?.code;
  if (value === undefined || value === null) return OTHER;
  return String(value).slice(0, 64).replaceAll(",", "_").replaceAll("=", "_");
}

/**
 * Wraps `inner` so that each event name writes at most `linesPerEvent` lines per window. Further
 * lines of the window are counted by their `reason` field (or `code`), and when the window ends
 * one line `<event>.suppressed` says how many, e.g.
 * `ws.refused.suppressed count=1180 windowSeconds=10 reasons="handshake_full=1180"`.
 *
 * @example
 * ```ts
 * const log = createLogThrottle(createLogger(), { linesPerEvent: 20 });
 * for (let i = 0; i < 1000; i++) log.info("ws.refused", { status: 503, reason: "handshake_full" });
 * // 20 lines now, then one ws.refused.suppressed line (count=980) 10 s after the first
 * log.flush(); // at shutdown: the summary now, no timer left
 * ```
 */
export function createLogThrottle(inner: Logger, options: LogThrottleOptions = {}): LogThrottle {
  const {
    linesPerEvent = 20,
    windowMs = 10_000,
    level = "debug",
    exempt = (event: string) => event.startsWith("server."),
    maxReasons = 16,
    now = Date.now,
    timers = realTimers,
  } = options;
  const windows = new Map<string, Window>();

  const close = (event: string, w: Window) => {
    if (windows.get(event) === w) windows.delete(event);
    if (w.timer !== undefined) timers.clearTimer(w.timer);
    w.timer = undefined;
    if (w.suppressed === 0) return;
    const reasons = [...w.reasons].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .map(([reason, n]) => `${reason}=${n}`).join(",");
    inner[w.level](`${event}.suppressed`, {
      count: w.suppressed,
      windowSeconds: windowMs / 1000,
      reasons,
    });
  };

  const log = (lvl: LogLevel, event: string, fields?: LogFields) => {
    if (linesPerEvent === 0 || RANK[lvl] < RANK[level] || exempt(event)) {
      return inner[lvl](event, fields);
    }
    const t = now();
    let w = windows.get(event);
    if (w && t >= w.start + windowMs) {
      close(event, w);
      w = undefined;
    }
    if (!w) {
      w = { start: t, written: 0, suppressed: 0, level: lvl, reasons: new Map(), timer: undefined };
      windows.set(event, w);
    }
    if (w.written < linesPerEvent) {
      w.written++;
      return inner[lvl](event, fields);
    }
    if (w.suppressed === 0 || RANK[lvl] > RANK[w.level]) w.level = lvl;
    w.suppressed++;
    let reason = reasonOf(fields);
    if (!w.reasons.has(reason) && w.reasons.size >= maxReasons) reason = OTHER;
    w.reasons.set(reason, (w.reasons.get(reason) ?? 0) + 1);
    if (w.timer === undefined) {
      const ended = w;
      w.timer = timers.setTimer(() => {
        ended.timer = undefined;
        close(event, ended);
      }, w.start + windowMs - t);
    }
  };

  return {
    debug: (event, fields) => log("debug", event, fields),
    info: (event, fields) => log("info", event, fields),
    warn: (event, fields) => log("warn", event, fields),
    error: (event, fields) => log("error", event, fields),
    flush() {
      for (const [event, w] of [...windows]) close(event, w);
    },
  };
}
