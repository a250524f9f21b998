/**
 * The island's header: brand, room, connection state with "Retry now", Connect/Disconnect, and
 * the name and room fields (always shown on wide screens, behind the room button on narrow ones).
 *
 * @module
 */

import { ROOM_PATTERN } from "../lib/protocol/handshake.ts";
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { MAX_NAME_CHARS, nameProblem } from "../lib/protocol/names.ts";
import { useNow } from "../lib/web/chat/clock.ts";
import type { ConnState, Refusal } from "../lib/web/chat/state.ts";
import { statusText } from "../lib/web/chat/text.ts";

/** Props of {@linkcode ChatHeader}. */
export interface ChatHeaderProps {
  ready: boolean;
  conn: ConnState;
  /** Why the server refused us, while `conn` is `refused`. */
  refusal?: Refusal | null;
  /** Reconnect attempt number (0 for the first connection). */
  attempt: number;
  room: string;
  name: string;
  /** Clock time of the next reconnect attempt, when one is scheduled (the header counts down). */
  retryAt: number | null;
  /** False while the browser reports no network. */
  network: boolean;
  onToggle(): void;
  onRetry(): void;
  onName(name: string): void;
  onRoom(room: string): void;
}

const POWER = "M12 3v8M6.6 6.6a7.5 7.5 0 1 0 10.8 0";
const RETRY = "M20 12a8 8 0 1 1-2.4-5.7M20 4v4.5h-4.5";
const Icon = ({ d }: { d: string }) => (
  <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" class="icon">
    <path d={d} fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" />
  </svg>
);

/**
 * Renders the header.
 *
 * @example
 * ```tsx
 * <ChatHeader ready conn="online" attempt={0} room="lobby" name="Ann" retryAt={null} network ... />
 * ```
 */
export function ChatHeader(p: ChatHeaderProps) {
  const [name, setName] = useState(p.name);
  const [room, setRoom] = useState(p.room);
  const [open, setOpen] = useState(false);
  useEffect(() => setName(p.name), [p.name]);
  useEffect(() => setRoom(p.room), [p.room]);
  const down = p.conn === "idle" || p.conn === "offline" || p.conn === "refused";
  const roomOk = ROOM_PATTERN.test(room);
  const nameIssue = nameProblem(name);
  const now = useNow(p.retryAt !== null);
  const retryIn = p.retryAt === null ? null : Math.max(0, Math.ceil((p.retryAt - now) / 1000));
  const status = statusText({ ...p, retryIn });

  // "Retry now" stays while a reconnect is under way (inert while connecting), so focus never
  // drops to <body>; when the connection is back and it goes, focus moves to the composer.
  const retrying = p.ready &&
    (p.conn === "reconnecting" || (p.conn === "connecting" && p.attempt > 0));
  const retryRef = useRef<HTMLButtonElement>(null);
  const retryFocused = useRef(false);
  if (typeof document !== "undefined") {
    retryFocused.current = retryRef.current !== null && document.activeElement === retryRef.current;
  }
  useLayoutEffect(() => {
    if (retrying || !retryFocused.current) return;
    retryFocused.current = false;
    const next = document.getElementById("composer-input") as HTMLTextAreaElement | null;
    (next && !next.disabled ? next : document.getElementById("conn-toggle"))?.focus();
  }, [retrying]);

  return (
    <header class="top" data-retrying={retrying ? "true" : "false"}>
      <div class="top-row">
        <div class="brand" aria-label="Fanout">
          <svg viewBox="0 0 24 24" width="26" height="26" aria-hidden="true">
            <circle cx="12" cy="12" r="3.2" fill="currentColor" />
            <path
              d="M6.3 6.3a8 8 0 0 0 0 11.4M17.7 6.3a8 8 0 0 1 0 11.4M3.5 3.5a12 12 0 0 0 0 17M20.5 3.5a12 12 0 0 1 0 17"
              fill="none"
              stroke="currentColor"
              stroke-width="1.8"
              stroke-linecap="round"
            />
          </svg>
          <span>Fanout</span>
        </div>
        <span class="room-chip" title="Current room">#{p.room}</span>
        <button
          type="button"
          class="settings-toggle"
          aria-expanded={open}
          aria-controls="settings"
          title="Name and room"
          onClick={() => setOpen(!open)}
        >
          <span class="room-name">#{p.room}</span>
          <span class="sr-only">: change name or room</span>
          <svg viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" class="chev">
            <path d="M6 9l6 6 6-6" fill="none" stroke="currentColor" stroke-width="2.4" />
          </svg>
        </button>
        <div class="spacer" />
        <span class="status" data-state={p.ready ? p.conn : "starting"} role="status">
          <span class="dot" aria-hidden="true" />
          <span class="status-text">{status.long}</span>
          <span class="status-short" aria-hidden="true">{status.short}</span>
        </span>
        {retrying && (
          <button
            type="button"
            ref={retryRef}
            class="btn btn-ghost retry"
            aria-disabled={p.conn !== "reconnecting"}
            aria-label="Retry now"
            title="Retry now"
            onClick={() => p.conn === "reconnecting" && p.onRetry()}
          >
            <Icon d={RETRY} />
            <span class="btn-label">Retry now</span>
          </button>
        )}
        <button
          type="button"
          id="conn-toggle"
          class={down ? "btn btn-primary toggle" : "btn toggle"}
          data-down={down ? "true" : "false"}
          disabled={!p.ready}
          aria-label={down ? "Connect" : "Disconnect"}
          title={down ? "Connect" : "Disconnect"}
          onClick={p.onToggle}
        >
          <Icon d={POWER} />
          <span class="btn-label">{down ? "Connect" : "Disconnect"}</span>
        </button>
      </div>
      <div class="top-row fields" id="settings" data-open={open ? "true" : "false"}>
        <form
          class="field"
          onSubmit={(e) => {
            e.preventDefault();
            if (nameIssue === null && name.trim() !== p.name) p.onName(name.trim());
          }}
        >
          <label for="name-input">Name</label>
          <input
            id="name-input"
            value={name}
            maxLength={MAX_NAME_CHARS}
            autocomplete="nickname"
            aria-invalid={nameIssue !== null}
            aria-describedby={nameIssue ? "name-error" : undefined}
            disabled={!p.ready}
            onInput={(e) => setName(e.currentTarget.value)}
            onBlur={() => nameIssue === null && name.trim() !== p.name && p.onName(name.trim())}
          />
        </form>
        <form
          class="field"
          onSubmit={(e) => {
            e.preventDefault();
            if (roomOk && room !== p.room) {
              p.onRoom(room);
              setOpen(false);
            }
          }}
        >
          <label for="room-input">Room</label>
          <input
            id="room-input"
            value={room}
            maxLength={64}
            pattern="[a-z0-9_\-]{1,64}"
            aria-describedby="room-help"
            aria-invalid={!roomOk}
            disabled={!p.ready}
            onInput={(e) => setRoom(e.currentTarget.value.toLowerCase())}
          />
          <button type="submit" class="btn" disabled={!p.ready || !roomOk || room === p.room}>
            Join
          </button>
          <span id="room-help" class="sr-only">
            Lower-case letters, digits, dash and underscore. The page URL changes so you can share
            it.
          </span>
        </form>
        {nameIssue !== null && p.ready && (
          <p class="field-error" id="name-error">Name not saved: {nameIssue}.</p>
        )}
      </div>
    </header>
  );
}
