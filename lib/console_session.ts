/**
 * The console client's behaviour, free of Deno APIs: prints what the client core reports,
 * sends typed or piped lines, and decides when to exit with which code.
 *
 * @module
 */

import type { FanoutClient } from "./client.ts";
import type { Timers } from "./client_liveness.ts";
import type { ConsoleOptions } from "./console_args.ts";
import {
  formatConnected,
  formatError,
  formatMessage,
  formatOwn,
  formatStatus,
  jsonLine,
  lostText,
  presenceText,
  type Style,
} from "./console_format.ts";
import type { LineEvent } from "./console_line.ts";

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
}

/**
 * Runs until the user quits, the input ends (piped: and every line is acknowledged or the
 * timeout passes), or the first connection fails. Resolves with the exit code.
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
  let everOnline = false;
  const fatal = Promise.withResolvers<number>();
  const firstWelcome = Promise.withResolvers<void>();
  const sent = new Set<string>();
  const results = new Map<string, boolean>(); // ref -> delivered (ack) or refused (final error)
  const settled = () => [...sent].filter((ref) => results.has(ref));
  let wake = () => {};

  client.on("state", (s) => {
    if (s.state === "reconnecting" && !everOnline) {
      const why = s.closeCode === 4000 ? "no welcome from the server in time" : "nothing answered";
      printError(
        `error: could not connect to ${options.url} (${why}, close code ${s.closeCode}); ` +
          "is the server running and the URL right?",
      );
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
    firstWelcome.resolve();
  });
  client.on("gap", (g) => {
    const why = g.previousEpoch !== g.epoch
      ? "the server restarted and lost the room's history"
      : "you were away longer than the server keeps history";
    status(`Some messages may be missing: ${why}`, ["gap", g]);
  });
  client.on("message", (m) => print(json ? jsonLine("message", m) : formatMessage(m, style)));
  client.on("presence", (p) => {
    if (p.joined?.id === client.id) return; // our own arrival
    status(presenceText(p), ["presence", p]);
  });
  client.on("ack", (a) => {
    if (json) print(jsonLine("ack", a));
    results.set(a.ref, true);
    wake();
  });
  client.on("error", (e) => {
    print(json ? jsonLine("error", e) : formatError(e, style));
    if (e.ref !== undefined && !e.retrying) results.set(e.ref, false);
    wake();
  });

  client.connect();
  const reading = (async () => {
    for await (const event of deps.input) {
      if (event.kind !== "line") return event.kind === "interrupt" ? EXIT.interrupted : EXIT.ok;
      const text = event.text;
      if (QUIT_WORDS.has(text.trim())) return EXIT.ok;
      if (text.trim() === "") continue;
      const ref = client.send(text);
      sent.add(ref);
      if (json) print(jsonLine("sent", { ref, text }));
      else if (interactive) {
        const queued = client.state === "online" ? "" : " (queued: not connected)";
        print(formatOwn(text, now(), style) + queued);
      }
    }
    return EXIT.ok;
  })();
  const interrupted = new Promise<number>((resolve) => {
    deps.interrupted?.then(() => resolve(EXIT.interrupted));
  });
  let code = await Promise.race([reading, fatal.promise, interrupted]);

  if (!interactive && code === EXIT.ok) {
    // Piped: wait for the first welcome and every acknowledgement, bounded by --timeout.
    const allSettled = async () => {
      await firstWelcome.promise;
      while (settled().length < sent.size) {
        await new Promise<void>((resolve) => wake = resolve);
      }
    };
    let timer: unknown = null;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = timers.setTimeout(() => resolve("timeout"), options.timeoutSeconds * 1000);
    });
    const outcome = await Promise.race([allSettled(), timeout, fatal.promise, interrupted]);
    timers.clearTimeout(timer);
    if (typeof outcome === "number") code = outcome;
    else {
      const delivered = settled().filter((ref) => results.get(ref)).length;
      const missing = sent.size - delivered;
      if (json) print(jsonLine("done", { sent: sent.size, delivered, undelivered: missing }));
      if (missing > 0) {
        const why = outcome === "timeout" ? ` within ${options.timeoutSeconds} s` : "";
        printError(`error: ${missing} of ${sent.size} line(s) not delivered${why}`);
        code = EXIT.failed;
      } else if (!json && sent.size > 0) {
        print(formatStatus(`All ${sent.size} line(s) delivered`, style));
      }
    }
  } else if (interactive && code !== EXIT.failed && client.outbox.length > 0 && !json) {
    print(formatStatus(`${client.outbox.length} message(s) left unacknowledged`, style));
  }
  client.disconnect();
  let closeTimer: unknown = null;
  await Promise.race([
    client.whenClosed(),
    new Promise<void>((r) => closeTimer = timers.setTimeout(r, deps.closeWaitMs ?? 1000)),
  ]);
  timers.clearTimeout(closeTimer);
  if (json) print(jsonLine("exit", { code }));
  return code;
}
