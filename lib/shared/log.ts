/**
 * One-line event logging. Events carry names and small fields (ids, rooms, counts, codes), never
 * message texts or secrets.
 *
 * @module
 */

/** Severity of a log event. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** `pretty` for people, `json` for log collectors. */
export type LogFormat = "pretty" | "json";
/** Small values attached to an event. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Writes events; every method takes an event name such as `ws.open` and optional fields. */
export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Receives each finished line (default: `console.log` for info and below, `console.error` above). */
  write?: (line: string, level: LogLevel) => void;
  /** Clock in epoch milliseconds (default `Date.now`). */
  now?: () => number;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function defaultWrite(line: string, level: LogLevel): void {
  if (RANK[level] >= RANK.warn) console.error(line);
  else console.log(line);
}

function pretty(value: unknown): string {
  const text = String(value);
  return /^[\w.:/@-]*$/.test(text) ? text : JSON.stringify(text);
}

/**
 * Creates a logger that writes one line per event.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const log = createLogger({ format: "json", write: (line) => lines.push(line) });
 * log.info("ws.open", { room: "lobby", id: "c1" });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { level = "info", format = "pretty", write = defaultWrite, now = Date.now } = options;
  const min = RANK[level];
  const emit = (lvl: LogLevel, event: string, fields: LogFields = {}) => {
    if (RANK[lvl] < min) return;
    const time = new Date(now()).toISOString();
    if (format === "json") {
      write(JSON.stringify({ time, level: lvl, event, ...fields }), lvl);
      return;
    }
    const parts = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${pretty(v)}`);
    write([time, lvl.toUpperCase().padEnd(5), event, ...parts].join(" "), lvl);
  };
  return {
    debug: (event, fields) => emit("debug", event, fields),
    info: (event, fields) => emit("info", event, fields),
    warn: (event, fields) => emit("warn", event, fields),
    error: (event, fields) => emit("error", event, fields),
  };
}

/** A logger that drops everything, for tests. */
export const silentLogger: Logger = createLogger({ write: () => {} });
