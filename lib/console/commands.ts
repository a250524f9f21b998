/**
 * The console client's room commands, typed in a terminal: `/join <room>`, `/leave <room>`,
 * `/rooms` and `/to <room> <text>`. Parsing is pure; running one calls the client core and says
 * what happened (a status line, a `--json` event, or an `invalid_command` error). Piped input
 * never gets here: every piped line is a message to the main room.
 *
 * @module
 */

import type { FanoutClient } from "../client/client.ts";
import { formatError, formatRoom, formatStatus, jsonLine, type Style } from "./format.ts";

/** A typed room command, or why a line that names one is not a valid one. */
export type Command =
  | { kind: "join"; room: string }
  | { kind: "leave"; room: string }
  | { kind: "rooms" }
  | { kind: "to"; room: string; text: string }
  | { kind: "invalid"; message: string };

const COMMAND = /^\s*\/(join|leave|rooms|to)(?=\s|$)\s*/;

/**
 * The command of a typed line, or null for an ordinary line (a message). `/to` keeps its text as
 * typed after the room.
 *
 * @example
 * ```ts
 * parseCommand("/join news"); // { kind: "join", room: "news" }
 * parseCommand("/to news hi there"); // { kind: "to", room: "news", text: "hi there" }
 * parseCommand("/join"); // { kind: "invalid", message: "/join needs a room: /join <room>" }
 * parseCommand("/joined"); // null: not a command, sent as it is
 * ```
 */
export function parseCommand(line: string): Command | null {
  const match = COMMAND.exec(line);
  if (!match) return null;
  const name = match[1] as "join" | "leave" | "rooms" | "to";
  const rest = line.slice(match[0].length);
  if (name === "rooms") {
    return rest.trim() === "" ? { kind: "rooms" } : invalid("/rooms takes no argument");
  }
  if (name === "to") {
    const to = /^(\S+)\s+(.*)$/s.exec(rest);
    if (!to || to[2].trim() === "") {
      return invalid("/to needs a room and a text: /to <room> <text>");
    }
    return { kind: "to", room: to[1], text: to[2] };
  }
  const room = rest.trim();
  if (room === "" || /\s/.test(room)) return invalid(`/${name} needs a room: /${name} <room>`);
  return { kind: name, room };
}

function invalid(message: string): Command {
  return { kind: "invalid", message };
}

/** What running a command needs from the session. */
export interface CommandDeps {
  client: FanoutClient;
  /** `--json`: events instead of text. */
  json: boolean;
  style: Style;
  print: (line: string) => void;
  /** Sends `text` as a typed line to `room` (undefined: the main room), as the session does. */
  send: (text: string, room: string | undefined) => void;
}

/**
 * Carries out a command: joins (the `subscribed` event then says it is joined), leaves, lists
 * the rooms or sends to one; a command that cannot be carried out is an `invalid_command` error
 * line saying why.
 *
 * @example
 * ```ts
 * runCommand({ kind: "join", room: "news" }, { client, json: false, style, print, send });
 * runCommand({ kind: "rooms" }, deps); // prints "* Rooms: #lobby (main), #news"
 * ```
 */
export function runCommand(command: Command, deps: CommandDeps): void {
  const { client, json, style, print } = deps;
  const fail = (message: string) => {
    const error = { code: "invalid_command", message };
    print(json ? jsonLine("error", error) : formatError(error, style));
  };
  const inRoom = (room: string) => client.rooms.includes(room);
  switch (command.kind) {
    case "invalid":
      return fail(command.message);
    case "join":
      try {
        client.subscribe(command.room);
      } catch (err) {
        return fail((err as Error).message);
      }
      if (client.state !== "online" && !json) {
        print(formatStatus(`Joining ${formatRoom(command.room, style)} once connected`, style));
      }
      return;
    case "leave":
      if (command.room === client.room) {
        return fail(`${command.room} is the main room: leave it with /quit`);
      }
      if (!inRoom(command.room)) return fail(`not in room ${JSON.stringify(command.room)}`);
      client.unsubscribe(command.room);
      print(
        json
          ? jsonLine("unsubscribed", { room: command.room, reason: "requested" })
          : formatStatus(`Left ${formatRoom(command.room, style)}`, style),
      );
      return;
    case "rooms": {
      const [main, ...others] = client.rooms;
      const listed = [
        `${formatRoom(main, style)} (main)`,
        ...others.map((r) => formatRoom(r, style)),
      ];
      print(
        json
          ? jsonLine("rooms", { rooms: client.rooms })
          : formatStatus(`Rooms: ${listed.join(", ")}`, style),
      );
      return;
    }
    case "to":
      if (!inRoom(command.room)) {
        return fail(`not in room ${JSON.stringify(command.room)}: /join ${command.room} first`);
      }
      return deps.send(command.text, command.room === client.room ? undefined : command.room);
  }
}
