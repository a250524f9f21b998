/**
 * The console client: `deno task client [--url ws://localhost:8000/ws] [--room lobby[,news]]
 * [--name bob] [--token jwt] [--json] [--timeout 10]`. This file only wires Deno's stdin, stdout,
 * stderr, environment and signals to the runtime-free parts in `lib/console/` and `lib/client/client.ts`.
 *
 * @module
 */

import { realTimers } from "./lib/shared/timers.ts";
import { FanoutClient } from "./lib/client/client.ts";
import { parseConsoleArgs, USAGE } from "./lib/console/args.ts";
import { useColor } from "./lib/console/format.ts";
import { InputQueue, pumpKeys, pumpLines } from "./lib/console/input.ts";
import { Screen } from "./lib/console/screen.ts";
import { EXIT, runSession } from "./lib/console/session.ts";

const encoder = new TextEncoder();

function writer(stream: { writeSync(p: Uint8Array): number }): (text: string) => void {
  return (text) => {
    let bytes = encoder.encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(stream.writeSync(bytes));
  };
}

async function* decoded(): AsyncIterable<string> {
  yield* Deno.stdin.readable.pipeThrough(new TextDecoderStream());
}

async function main(): Promise<number> {
  // Only these variables are read (the task allows no others).
  const env = {
    FANOUT_URL: Deno.env.get("FANOUT_URL"),
    FANOUT_TOKEN: Deno.env.get("FANOUT_TOKEN"),
    NO_COLOR: Deno.env.get("NO_COLOR"),
  };
  const parsed = parseConsoleArgs(Deno.args, env);
  if (!parsed.ok) {
    console.error(`error: ${parsed.error}`);
    return EXIT.usage;
  }
  const options = parsed.options;
  if (options.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  const typing = Deno.stdin.isTerminal();
  const raw = typing && Deno.stdout.isTerminal();
  const screen = new Screen({
    write: writer(Deno.stdout),
    writeError: writer(Deno.stderr),
    interactive: raw,
    columns: () => Deno.consoleSize().columns,
  });
  let client: FanoutClient;
  try {
    client = new FanoutClient({
      url: options.url,
      room: options.room,
      name: options.name,
      ...(options.token ? { token: options.token } : {}),
    });
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return EXIT.failed;
  }
  const input = new InputQueue();
  const interrupted = Promise.withResolvers<void>();
  const onSigint = () => interrupted.resolve();
  Deno.addSignalListener("SIGINT", onSigint);
  if (raw) {
    Deno.stdin.setRaw(true);
    screen.setInput("");
    pumpKeys(decoded(), input, (text) => screen.setInput(text)).catch(() => input.end());
  } else {
    pumpLines(decoded(), input).catch(() => input.end());
  }
  try {
    return await runSession({
      client,
      options,
      input,
      print: (line) => screen.print(line),
      printError: (line) => screen.printError(line),
      interactive: typing,
      interrupted: interrupted.promise,
      style: { color: useColor(Deno.stdout.isTerminal(), env) },
      timers: realTimers,
    });
  } finally {
    screen.close();
    if (raw) Deno.stdin.setRaw(false);
    Deno.removeSignalListener("SIGINT", onSigint);
  }
}

if (import.meta.main) Deno.exit(await main());
