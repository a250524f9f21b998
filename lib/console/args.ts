/**
 * Command-line options of the console client (`deno task client`).
 *
 * @module
 */

import { socketUrl } from "../client/frames.ts";

/** Options after parsing. */
export interface ConsoleOptions {
  /** Base WebSocket URL (`--url`, env `FANOUT_URL`, default `ws://localhost:8000/ws`). */
  url: string;
  /** The main room: the first of `--room` (default `lobby`). */
  room: string;
  /**
   * The other rooms of `--room a,b,c` (here `b` and `c`), joined over the same connection; absent
   * with one room.
   */
  extraRooms?: string[];
  name: string | null;
  /** A token for a server in auth mode (`--token`, env `FANOUT_TOKEN`), or null. */
  token: string | null;
  /** One JSON event per output line. */
  json: boolean;
  /** Seconds a piped run waits without any line being acknowledged before it gives up. */
  timeoutSeconds: number;
  help: boolean;
}

/** Result of {@linkcode parseConsoleArgs}: options, or a one-line reason for exit code 2. */
export type ArgsResult = { ok: true; options: ConsoleOptions } | { ok: false; error: string };

/** Default server URL. */
export const DEFAULT_URL = "ws://localhost:8000/ws";

/** Text of `--help`. */
export const USAGE = `Fanout console client: chat in a Fanout room from the terminal or a script.

Usage: deno task client [options]

Options:
  --url <ws-url>     server WebSocket URL (default ${DEFAULT_URL}, or env FANOUT_URL);
                     http:// and https:// are accepted and mean ws:// and wss://
  --room <rooms>     room to join: 1-64 of a-z, 0-9, _ and - (default lobby); several
                     separated by commas (a,b) are joined over one connection, the
                     first being the main room
  --name <name>      display name shown to others, 1-32 characters (default: none, your id)
  --token <jwt>      token for a server that requires one (or env FANOUT_TOKEN); a refused
                     token prints why and exits 1
  --json             print one JSON event per line instead of text
  --timeout <secs>   with piped input: give up when no line has been acknowledged for this
                     many seconds (default 10); a long input may take longer in total
  -h, --help         show this help

Type a line and press Enter to send it to the main room. sair, /quit, exit or Ctrl+D leave
cleanly (after waiting up to 2 s for lines not yet acknowledged). Also, typed:
  /join <room>       join another room over the same connection
  /leave <room>      leave a room joined besides the main one
  /rooms             list the rooms joined, the main room first
  /to <room> <text>  send <text> to a joined room
With more than one room, message lines start with their room (#room).
With stdin not a terminal, every line is sent to the main room as it is (commands too),
paced below the server's rate limit (20 a second by default), and the client exits once
all are acknowledged.

Exit codes: 0 done, 1 cannot connect or lines not delivered (refused, or no progress for
--timeout seconds), 2 bad options, 130 interrupted (Ctrl+C).`;

const VALUE_OPTIONS = new Set(["--url", "--room", "--name", "--timeout", "--token"]);

/**
 * Parses `args` (without the program name). `env` supplies `FANOUT_URL` and `FANOUT_TOKEN`.
 *
 * @example
 * ```ts
 * parseConsoleArgs(["--room", "dev", "--name=Ann"], {});
 * // { ok: true, options: { url: "ws://localhost:8000/ws", room: "dev", name: "Ann", ... } }
 * parseConsoleArgs(["--colour"], {}); // { ok: false, error: "unknown option --colour; ..." }
 * ```
 */
export function parseConsoleArgs(
  args: string[],
  env: Record<string, string | undefined>,
): ArgsResult {
  const values = new Map<string, string>();
  let json = false;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (arg === "--json") {
      json = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const key = eq > 0 ? arg.slice(0, eq) : arg;
    if (!VALUE_OPTIONS.has(key)) {
      const what = arg.startsWith("-") ? `unknown option ${key}` : `unexpected argument "${arg}"`;
      return { ok: false, error: `${what}; see --help` };
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) return { ok: false, error: `${key} needs a value; see --help` };
    values.set(key, value);
  }
  const timeout = values.get("--timeout") ?? "10";
  const timeoutSeconds = Number(timeout);
  if (!/^\d+(\.\d+)?$/.test(timeout) || timeoutSeconds <= 0 || timeoutSeconds > 86_400) {
    return {
      ok: false,
      error: `--timeout must be a number of seconds above 0 and at most 86400, got "${timeout}"`,
    };
  }
  const urlSource = values.has("--url")
    ? "--url"
    : env.FANOUT_URL !== undefined
    ? "FANOUT_URL"
    : null;
  const [room, ...extraRooms] = (values.get("--room") ?? "lobby").split(",");
  const options: ConsoleOptions = {
    url: toWsScheme(values.get("--url") ?? env.FANOUT_URL ?? DEFAULT_URL),
    room,
    ...(extraRooms.length > 0 ? { extraRooms } : {}),
    name: values.get("--name") ?? null,
    token: values.get("--token") ?? (env.FANOUT_TOKEN || null),
    json,
    timeoutSeconds,
    help,
  };
  if (help) return { ok: true, options };
  const problem = checkUrl(options.url, urlSource ?? "--url") ?? checkRoomAndName(options) ??
    checkToken(options.token, values.has("--token") ? "--token" : "FANOUT_TOKEN");
  return problem === null ? { ok: true, options } : { ok: false, error: problem };
}

/** Maps `http(s)://` to `ws(s)://`; other URLs are returned unchanged (checked on connect). */
function toWsScheme(url: string): string {
  return url.replace(/^http(s?):\/\//i, "ws$1://");
}

function checkUrl(url: string, source: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${source} must be an absolute ws://, wss://, http:// or https:// URL, got "${url}"`;
  }
  if (parsed.protocol === "ws:" || parsed.protocol === "wss:") return null;
  return `${source} must use ws://, wss://, http:// or https://, got "${url}"`;
}

function checkToken(token: string | null, source: string): string | null {
  if (token === null || /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return null;
  // Never echo the value: it may be a secret pasted by mistake.
  return `${source} must be a JWT (three base64url parts separated by dots), got ${token.length} characters that are not one`;
}

function checkRoomAndName(options: ConsoleOptions): string | null {
  const query = { client: "consolecheck", since: null, epoch: null };
  const rooms = [options.room, ...options.extraRooms ?? []];
  for (const [i, room] of rooms.entries()) {
    try {
      socketUrl("ws://check/ws", { ...query, room, name: null });
    } catch (err) {
      return `--room: ${(err as Error).message}`;
    }
    if (rooms.indexOf(room) < i) return `--room: room "${room}" is listed twice`;
  }
  try {
    socketUrl("ws://check/ws", { ...query, room: "lobby", name: options.name });
  } catch (err) {
    return `--name: ${(err as Error).message}`;
  }
  return null;
}
