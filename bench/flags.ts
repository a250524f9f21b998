/**
 * Command-line flags of `deno task bench` and the default size of each scenario.
 *
 * @module
 */

/**
 * The scenarios: `fanout` is the closed loop with 1000 clients (where the load generator is the
 * bottleneck), `fanout-100` the same with 100 clients (where the server's own latency shows),
 * `fanout-rate` the gentle load (100 clients, 10 senders at 40 messages/s each: latency),
 * `api-publish` (Fanout only) one publisher's messages to 100 members, over the server API's
 * HTTP POST and then from a socket, and `rooms` (Fanout only) C connections in R rooms each
 * against C×R single-room connections with the same members per room, and `restart` (the memory
 * engine beside the KV engine) R rooms filled to `HISTORY_SIZE` = M messages, `kill -9`, and the
 * time until the restarted process answers `/healthz` and recovers a resuming client.
 */
export const SCENARIOS = [
  "fanout",
  "fanout-100",
  "fanout-rate",
  "idle",
  "connect",
  "join-storm",
  "api-publish",
  "rooms",
  "restart",
] as const;
/** One scenario name. */
export type Scenario = typeof SCENARIOS[number];

/** Parsed flags; an undefined number keeps the scenario's default. */
export interface Flags {
  scenarios: Scenario[];
  clients?: number;
  senders?: number;
  seconds?: number;
  inflight?: number;
  rate?: number;
  messages?: number;
  rooms?: number;
  rounds: number;
  quick: boolean;
  /** Measure Fanout under `deno serve --parallel` with Redis instead of one process. */
  parallel: boolean;
  /** Measure Fanout under `deno serve serve.ts` (Deno's server and sockets), not `main.ts`. */
  serve: boolean;
  /**
   * Compare Fanout's plain mode (no subprotocol: one frame per text) with its JSON mode in the
   * same round, instead of Fanout with the baseline (`fanout*`, `idle` and `connect` only).
   */
  plain: boolean;
  /**
   * A command that starts another broadcast server in the naive baseline's place (it gets `HOST`
   * and `PORT`, serves `/ws` and forwards each text to the other clients as plain frames, as the
   * servers of `../shared/peers/` do), split on spaces: Fanout against Bun or Node in one run.
   */
  peer?: string[];
  /**
   * `kv`: compare Fanout on the KV engine (`ENGINE=kv`, a fresh KV file under `data/` per
   * server) with Fanout on the memory engine in the same round, instead of Fanout with the
   * baseline (`fanout*` only); `memory` (the default) keeps the baseline.
   */
  engine: "memory" | "kv";
  /**
   * Another checkout of Fanout (its directory) in the baseline's place: its `main.ts`, with its own
   * start task's flags and the benchmark's environment, against this one's, in the same run (an
   * A/B of two versions; `fanout*`, `idle` and `connect`).
   */
  against?: string;
  json?: string;
}

/** Sizes of one scenario run. */
export interface Params {
  clients: number;
  senders: number;
  seconds: number;
  inflight: number;
  rate: number;
  /** Messages one publisher sends (`api-publish`; 0 elsewhere, where `seconds` bounds a run). */
  messages: number;
  /** Rooms each connection is in (`rooms`: the handshake's and R-1 `subscribe`s; 1 elsewhere). */
  rooms: number;
}

const FULL: Record<Scenario, Params> = {
  "fanout": {
    clients: 1000,
    senders: 10,
    seconds: 10,
    inflight: 16,
    rate: 0,
    messages: 0,
    rooms: 1,
  },
  "fanout-100": {
    clients: 100,
    senders: 10,
    seconds: 10,
    inflight: 16,
    rate: 0,
    messages: 0,
    rooms: 1,
  },
  "fanout-rate": {
    clients: 100,
    senders: 10,
    seconds: 10,
    inflight: 1024,
    rate: 40,
    messages: 0,
    rooms: 1,
  },
  "idle": { clients: 10_000, senders: 0, seconds: 0, inflight: 0, rate: 0, messages: 0, rooms: 1 },
  "connect": { clients: 2000, senders: 0, seconds: 0, inflight: 0, rate: 0, messages: 0, rooms: 1 },
  "join-storm": {
    clients: 1000,
    senders: 0,
    seconds: 0,
    inflight: 0,
    rate: 0,
    messages: 0,
    rooms: 1,
  },
  // `seconds` bounds each phase; the publisher is one, `senders` and `rate` do not apply.
  "api-publish": {
    clients: 100,
    senders: 1,
    seconds: 30,
    inflight: 16,
    rate: 0,
    messages: 20_000,
    rooms: 1,
  },
  // Each phase: C connections in R rooms each, then C×R single-room connections; rooms of about
  // 100 members; S senders with K in flight each, for `seconds`.
  "rooms": {
    clients: 1000,
    senders: 10,
    seconds: 10,
    inflight: 16,
    rate: 0,
    messages: 0,
    rooms: 5,
  },
  // R rooms filled to M messages each (HISTORY_SIZE = M), K in flight per room.
  "restart": {
    clients: 0,
    senders: 0,
    seconds: 0,
    inflight: 32,
    rate: 0,
    messages: 1000,
    rooms: 1000,
  },
};
const QUICK: Record<Scenario, Params> = {
  "fanout": { clients: 20, senders: 2, seconds: 1, inflight: 4, rate: 0, messages: 0, rooms: 1 },
  "fanout-100": {
    clients: 10,
    senders: 2,
    seconds: 1,
    inflight: 4,
    rate: 0,
    messages: 0,
    rooms: 1,
  },
  "fanout-rate": {
    clients: 10,
    senders: 2,
    seconds: 1,
    inflight: 1024,
    rate: 20,
    messages: 0,
    rooms: 1,
  },
  "idle": { clients: 50, senders: 0, seconds: 0, inflight: 0, rate: 0, messages: 0, rooms: 1 },
  "connect": { clients: 50, senders: 0, seconds: 0, inflight: 0, rate: 0, messages: 0, rooms: 1 },
  "join-storm": {
    clients: 50,
    senders: 0,
    seconds: 0,
    inflight: 0,
    rate: 0,
    messages: 0,
    rooms: 1,
  },
  "api-publish": {
    clients: 10,
    senders: 1,
    seconds: 10,
    inflight: 4,
    rate: 0,
    messages: 200,
    rooms: 1,
  },
  "rooms": { clients: 20, senders: 2, seconds: 1, inflight: 4, rate: 0, messages: 0, rooms: 3 },
  "restart": { clients: 0, senders: 0, seconds: 0, inflight: 8, rate: 0, messages: 20, rooms: 5 },
};

function num(name: string, raw: string | undefined): number {
  const value = Number(raw);
  if (raw === undefined || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`--${name} needs a non-negative number, got "${raw}"`);
  }
  return value;
}

/**
 * Parses `deno task bench` arguments; throws a `RangeError` naming a bad flag.
 *
 * @example
 * ```ts
 * parseFlags(["--scenario", "fanout", "--clients", "100"]).clients; // 100
 * ```
 */
export function parseFlags(args: string[]): Flags {
  const flags: Flags = {
    scenarios: [...SCENARIOS],
    rounds: 1,
    quick: false,
    parallel: false,
    serve: false,
    plain: false,
    engine: "memory",
  };
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].replace(/^--/, "").split("=", 2);
    const value = () => inline ?? args[++i];
    switch (name) {
      case "scenario": {
        const v = value();
        if (v === "all") flags.scenarios = [...SCENARIOS];
        else if ((SCENARIOS as readonly string[]).includes(v)) flags.scenarios = [v as Scenario];
        else {throw new RangeError(
            `--scenario must be one of ${SCENARIOS.join(", ")}, all; got "${v}"`,
          );}
        break;
      }
      case "clients":
      case "senders":
      case "seconds":
      case "inflight":
      case "rate":
      case "messages":
      case "rooms":
      case "rounds":
        flags[name] = num(name, value());
        break;
      case "quick":
        flags.quick = true;
        break;
      case "parallel":
        flags.parallel = true;
        break;
      case "serve":
        flags.serve = true;
        break;
      case "plain":
        flags.plain = true;
        break;
      case "engine": {
        const v = value();
        if (v !== "memory" && v !== "kv") {
          throw new RangeError(`--engine must be memory or kv, got "${v}"`);
        }
        flags.engine = v;
        break;
      }
      case "json":
        flags.json = value();
        break;
      case "against": {
        const dir = (value() ?? "").trim();
        if (dir === "") throw new RangeError("--against needs a checkout's directory");
        flags.against = dir;
        break;
      }
      case "peer": {
        const command = (value() ?? "").trim().split(/\s+/).filter((w) => w !== "");
        if (command.length === 0) throw new RangeError('--peer needs a command, e.g. "node s.mjs"');
        flags.peer = command;
        break;
      }
      default:
        throw new RangeError(`unknown flag "${args[i]}"; see bench/run.ts for the list`);
    }
  }
  if (
    flags.against !== undefined &&
    (flags.peer || flags.engine === "kv" || flags.plain || flags.parallel || flags.serve)
  ) {
    throw new RangeError(
      "--against compares two checkouts of main.ts: drop --peer, --engine, --plain, --parallel, --serve",
    );
  }
  if (flags.peer && flags.engine === "kv") {
    throw new RangeError("--peer and --engine kv both choose the first column: give one");
  }
  if (flags.engine === "kv" && (flags.plain || flags.parallel)) {
    throw new RangeError(
      "--engine kv compares two engines in JSON mode, one process: drop --plain and --parallel",
    );
  }
  if (flags.parallel && flags.serve) {
    throw new RangeError("--parallel and --serve both choose how Fanout runs: give one");
  }
  return flags;
}

/**
 * Sizes of `scenario` under `flags` (explicit flags win over the defaults).
 *
 * @example
 * ```ts
 * scenarioParams("fanout", parseFlags(["--quick"])).clients; // 20
 * ```
 */
export function scenarioParams(scenario: Scenario, flags: Flags): Params {
  const base = (flags.quick ? QUICK : FULL)[scenario];
  return {
    clients: flags.clients ?? base.clients,
    senders: flags.senders ?? base.senders,
    seconds: flags.seconds ?? base.seconds,
    inflight: flags.inflight ?? base.inflight,
    rate: flags.rate ?? base.rate,
    messages: flags.messages ?? base.messages,
    rooms: flags.rooms ?? base.rooms,
  };
}
