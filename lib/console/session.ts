/**
 * The console client's behaviour, free of Deno APIs: prints what the client core reports,
 * sends typed or piped lines (typed room commands go to `commands.ts`), and decides when to exit
 * with which code. With more than one room, lines about a room start with it (`#room`).
 *
 * @module
 */

import type { FanoutClient } from "../client/client.ts";
import { Close } from "../protocol/close_codes.ts";
import type { Timers } from "../shared/timers.ts";
import type { ConsoleOptions } from "./args.ts";
import { parseCommand, runCommand } from "./commands.ts";
import {
  connectFailure,
  formatConnected,
  formatError,
  formatMessage,
  formatOwn,
  formatRoom,
  formatStatus,
  jsonLine,
  lostText,
  presenceText,
  type Style,
} from "./format.ts";
import type { LineEvent } from "./line.ts";
import { ProgressWait } from "./wait.ts";

/** Words that end the session when typed alone on a line. */
export const QUIT_WORDS = new Set(["sair", "/quit", "exit"]);

/** Exit codes of the console client. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** What a session needs from its surroundings. */
export interface SessionDeps {
  client: FanoutClient;
  options: ConsoleOptions;
  /** Typed (interactive) or piped lines, then `eof`. */
  input: AsyncIterable<LineEvent>;
  /** Prints one line to stdout (through the screen). */
  print: (line: string) => void;
  /** Prints one line to stderr. */
  printError: (line: string) => void;
  /** True when a person types in a terminal; false for piped input. */
  interactive: boolean;
  style: Style;
  timers: Timers;
  /** Resolves on SIGINT: leave at once (exit 130), also while waiting for acknowledgements. */
  interrupted?: Promise<void>;
  /** Clock for the time of one's own lines (default `Date.now`). */
  now?: () => number;
  /** How long to wait for the close handshake when leaving (default 1000 ms). */
  closeWaitMs?: number;
  /** How long quitting waits for unacknowledged lines to be acknowledged (default 2000 ms). */
  quitWaitMs?: number;
}

/**
 * Runs until the user quits (after waiting up to `quitWaitMs` for unacknowledged lines), the
 * input ends (piped: and every line is settled, or nothing was acknowledged for `--timeout`
 * seconds), or the first connection fails. Resolves with the exit code.
 *
 * @example
 * ```ts
 * const code = await runSession({ client, options, input, print, printError, interactive, style, timers });
 * Deno.exit(code);
 * ```
 */
export async function runSession(deps: SessionDeps): Promise<number> {
  const { client, options, print, printError, interactive, style, timers } = deps;
  const now = deps.now ?? Date.now;
  const json = options.json;
  const status = (text: string, payload: [string, object]) =>
    print(json ? jsonLine(...payload) : formatStatus(text, style));
  // With more than one room, what is about a room starts with it.
  const several = () => client.rooms.length > 1;
  const tag = (room: string | undefined) =>
    room !== undefined && several() ? `${formatRoom(room, style)} ` : "";
  let everOnline = false;
  let connectErrorShown = false;
  const fatal = Promise.withResolvers<number>();
  const wait = new ProgressWait(timers);
  // Piped lines: refs sent, the input line of each, and which are settled (acked or refused).
  const sent = new Set<string>();
  const lineOf = new Map<string, number>();
  const settled = new Set<string>();
  let delivered = 0;
  let sending: number | null = null; // input line being passed to client.send (sync errors)

  const settle = (ref: string, ok: boolean) => {
    if (settled.has(ref) || (!sent.has(ref) && sending === null)) return;
    settled.add(ref);
    if (ok) delivered++;
    wait.progressed();
  };

  let failures = 0;
  client.on("state", (s) => {
    if (s.state === "refused") {
      const what = s.status === 403
        ? "the server refused this room for the token"
        : s.closeCode === Close.tokenExpired
        ? "the token expired"
        : "the server refused the token";
      const why = s.closeReason ? `: ${s.closeReason}` : "";
      if (json) {
        print(jsonLine("error", { code: "refused", status: s.status, message: s.closeReason }));
      }
      printError(`error: ${what} (${s.status})${why}`);
      fatal.resolve(EXIT.failed);
    } else if (s.state === "reconnecting" && !everOnline && options.token && ++failures < 2) {
      // With a token, the client first asks the server why (a refusal ends it with `refused`).
    } else if (s.state === "reconnecting" && !everOnline) {
      const failure = connectFailure(options.url, s);
      if (json && !connectErrorShown) {
        print(jsonLine("error", { code: "connect_failed", message: failure }));
      }
      printError(`error: ${failure}; is the server running and the URL right?`);
      fatal.resolve(EXIT.failed);
    } else if (s.state === "reconnecting") status(lostText(s), ["state", s]);
    else if (s.state === "connecting" && s.attempt > 0) {
      status(`Reconnecting to ${options.url} (attempt ${s.attempt})`, ["state", s]);
    }
  });
  client.on("welcome", (w) => {
    const pending = client.outbox.length;
    if (json) print(jsonLine("welcome", { url: options.url, ...w }));
    else if (!everOnline) print(formatConnected(options.url, w.room, w.online));
    else {
      const missed = w.recovered ? ", nothing missed" : "";
      print(formatStatus(`Reconnected (room ${w.room}, ${w.online} online${missed})`, style));
      if (pending > 0) print(formatStatus(`Resending ${pending} unacknowledged message(s)`, style));
    }
    everOnline = true;
    wait.changed();
  });
  client.on("gap", (g) => {
    const why = g.previousEpoch !== g.epoch
      ? "the server restarted and lost the room's history"
      : "you were away longer than the server keeps history";
    status(`${tag(g.room)}Some messages may be missing: ${why}`, ["gap", g]);
  });
  client.on("message", (m) => {
    print(json ? jsonLine("message", m) : tag(m.room) + formatMessage(m, style));
  });
  client.on("presence", (p) => {
    if (p.joined?.id === client.id) return; // our own arrival
    status(tag(p.room) + presenceText(p), ["presence", p]);
  });
  client.on("subscribed", (s) => {
    const how = s.resumed ? "Rejoined" : "Joined";
    const missed = s.resumed && s.recovered ? ", nothing missed" : "";
    status(`${how} ${formatRoom(s.room, style)} (${s.online} online${missed})`, ["subscribed", s]);
  });
  client.on("unsubscribed", (u) => {
    const why = u.message ? `: ${u.message}` : ` (${u.reason})`;
    status(`Left ${formatRoom(u.room, style)}${why}`, ["unsubscribed", u]);
  });
  client.on("ack", (a) => {
    if (json) print(jsonLine("ack", a));
    settle(a.ref, true);
  });
  client.on("error", (e) => {
    if (e.code === "connect_failed") connectErrorShown = true;
    const line = interactive || e.ref === undefined
      ? undefined
      : lineOf.get(e.ref) ?? sending ?? undefined;
    if (json) print(jsonLine("error", line === undefined ? e : { ...e, line }));
    else print(formatError(e, style, line));
    if (e.ref !== undefined && !e.retrying) settle(e.ref, false);
  });
  client.on("outbox", () => wait.changed());

  /** Sends line `lineNo` to `room` (undefined: the main room) and says so. */
  const sendLine = (text: string, lineNo: number, room: string | undefined) => {
    sending = lineNo;
    const ref = client.send(room === undefined ? text : { text, room });
    sending = null;
    sent.add(ref);
    lineOf.set(ref, lineNo);
    const to = room ?? client.room;
    if (json) print(jsonLine("sent", several() ? { ref, text, room: to } : { ref, text }));
    else if (interactive) {
      const queued = client.state === "online" ? "" : " (queued: not connected)";
      print(tag(to) + formatOwn(text, now(), style) + queued);
    }
  };

  for (const room of options.extraRooms ?? []) client.subscribe(room);
  client.connect();
  const reading = (async () => {
    let lineNo = 0;
    for await (const event of deps.input) {
      if (event.kind !== "line") return event.kind === "interrupt" ? EXIT.interrupted : EXIT.ok;
      const text = event.text;
      lineNo++;
      if (QUIT_WORDS.has(text.trim())) return EXIT.ok;
      if (text.trim() === "") continue;
      // Typed commands; a piped line is always a message to the main room.
      const command = interactive ? parseCommand(text) : null;
      if (command) {
        const line = lineNo;
        runCommand(command, {
          client,
          json,
          style,
          print,
          send: (text, room) => sendLine(text, line, room),
        });
      } else sendLine(text, lineNo, undefined);
    }
    return EXIT.ok;
  })();
  const interrupted = new Promise<number>((resolve) => {
    deps.interrupted?.then(() => resolve(EXIT.interrupted));
  });
  /** Waits for `until`, the first connection failing, or Ctrl+C (which win with their code). */
  const bounded = async (until: Promise<"done" | "timeout">) => {
    const outcome = await Promise.race([until, fatal.promise, interrupted]);
    wait.stop();
    return outcome;
  };

  let code = await Promise.race([reading, fatal.promise, interrupted]);
  if (code === EXIT.ok && !interactive) {
    // Piped: wait for the first welcome and every line settled, while acks keep coming.
    const seconds = options.timeoutSeconds;
    const outcome = await bounded(
      wait.until(() => everOnline && settled.size === sent.size, seconds * 1000, "idle"),
    );
    if (typeof outcome === "number") code = outcome;
    else {
      const missing = sent.size - delivered;
      if (json) print(jsonLine("done", { sent: sent.size, delivered, undelivered: missing }));
      if (missing > 0) {
        const why = outcome === "timeout" ? `: nothing acknowledged for ${seconds} s` : "";
        printError(`error: ${missing} of ${sent.size} line(s) not delivered${why}`);
        code = EXIT.failed;
      } else if (!json && sent.size > 0) {
        print(formatStatus(`All ${sent.size} line(s) delivered`, style));
      }
    }
  } else if (code === EXIT.ok && client.outbox.length > 0) {
    // Interactive quit: give lines still on their way a moment to be acknowledged.
    const waitMs = deps.quitWaitMs ?? 2000;
    const connected = client.state === "online" || client.state === "connecting";
    const outcome = connected
      ? await bounded(wait.until(() => client.outbox.length === 0, waitMs, "total"))
      : "timeout";
    const left = client.outbox.length;
    if (typeof outcome === "number") code = outcome;
    else if (left > 0 && !json) {
      const why = connected ? `after ${waitMs / 1000} s` : "(not connected)";
      print(
        formatStatus(`${left} message(s) still unacknowledged ${why}; maybe not delivered`, style),
      );
    }
  }
  client.disconnect();
  let closeTimer: unknown = null;
  await Promise.race([
    client.whenClosed(),
    new Promise<void>((r) => closeTimer = timers.setTimer(r, deps.closeWaitMs ?? 1000)),
  ]);
  timers.clearTimer(closeTimer);
  if (json) print(jsonLine("exit", { code }));
  return code;
}
