/**
 * The composer: Enter sends (Shift+Enter adds a line), a byte count against the server's limit,
 * and a line that says why sending is disabled or that messages are being queued.
 *
 * @module
 */

import { useState } from "preact/hooks";
import type { ConnState } from "../lib/web/chat/state.ts";
import { composerText, FRAME_ENVELOPE_BYTES, textFrameBytes } from "../lib/web/chat/format.ts";

/** Props of {@linkcode Composer}. */
export interface ComposerProps {
  ready: boolean;
  conn: ConnState;
  maxBytes: number;
  /** Messages waiting in the outbox. */
  pending: number;
  onSend(text: string): void;
}

function hint(
  p: ComposerProps,
  over: number,
): { text: string; extra?: string; tone: "" | "warn" | "bad" } {
  if (!p.ready) return { text: "Starting… (this page needs JavaScript)", tone: "warn" };
  if (p.conn === "refused") {
    return { text: "The server refused this connection: see the notice above.", tone: "bad" };
  }
  if (p.conn === "idle" || p.conn === "offline") {
    return { text: "You are disconnected. Press Connect to chat.", tone: "warn" };
  }
  if (over > 0) return { text: `Too long by ${over} bytes.`, tone: "bad" };
  if (p.conn !== "online") {
    const queued = p.pending > 0 ? ` (${p.pending} waiting)` : "";
    return {
      text: `Not connected: messages are queued and sent on reconnect${queued}.`,
      tone: "warn",
    };
  }
  if (p.pending > 0) return { text: `Sending ${p.pending}…`, tone: "" };
  return { text: "Enter to send", extra: " · Shift+Enter for a new line", tone: "" };
}

/**
 * Renders the composer.
 *
 * @example
 * ```tsx
 * <Composer ready conn="online" maxBytes={65536} pending={0} onSend={(t) => client.send(t)} />
 * ```
 */
export function Composer(p: ComposerProps) {
  const [raw, setText] = useState("");
  const text = composerText(raw);
  // The limit is on the whole frame: the text, JSON-escaped, inside its envelope.
  const limit = p.maxBytes - FRAME_ENVELOPE_BYTES;
  const bytes = textFrameBytes(text);
  const over = bytes - limit;
  const closed = !p.ready || p.conn === "idle" || p.conn === "offline" || p.conn === "refused";
  const canSend = !closed && text.trim().length > 0 && over <= 0;
  const { text: help, extra, tone } = hint(p, over);
  const send = () => {
    if (!canSend) return;
    p.onSend(text);
    setText("");
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for="composer-input" class="sr-only">Message</label>
      <div class="composer-row">
        <textarea
          id="composer-input"
          rows={1}
          value={raw}
          placeholder={closed ? "Not connected" : "Write a message…"}
          disabled={closed}
          aria-describedby="composer-help composer-count"
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
              e.preventDefault();
              send();
            }
          }}
        />
        <button type="submit" class="btn btn-primary send" disabled={!canSend}>
          Send
        </button>
      </div>
      <div class="composer-foot">
        <span id="composer-help" class={`help ${tone}`}>
          {help}
          {extra && <span class="wide-only">{extra}</span>}
        </span>
        <span id="composer-count" class={over > 0 ? "count bad" : "count"}>
          {bytes.toLocaleString("en")} / {limit.toLocaleString("en")} bytes
        </span>
      </div>
    </form>
  );
}
