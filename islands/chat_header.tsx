/**
 * The island's header: brand, room, connection state with "retry now", Connect/Disconnect, and the
 * name and room fields.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";
import type { ConnState } from "./chat_state.ts";

/** Props of {@linkcode ChatHeader}. */
export interface ChatHeaderProps {
  ready: boolean;
  conn: ConnState;
  room: string;
  name: string;
  /** Seconds until the next reconnect attempt, when one is scheduled. */
  retryIn: number | null;
  /** False while the browser reports no network. */
  network: boolean;
  onToggle(): void;
  onRetry(): void;
  onName(name: string): void;
  onRoom(room: string): void;
}

/** Room names the server accepts. */
export const ROOM_PATTERN = /^[a-z0-9_-]{1,64}$/;

function statusText(p: ChatHeaderProps): string {
  if (!p.ready) return "Starting…";
  if (!p.network && p.conn !== "offline") return "No network";
  switch (p.conn) {
    case "idle":
      return "Not connected";
    case "connecting":
      return "Connecting…";
    case "online":
      return "Online";
    case "reconnecting":
      return p.retryIn === null || p.retryIn <= 0
        ? "Reconnecting…"
        : `Reconnecting in ${p.retryIn}s`;
    case "offline":
      return "Disconnected";
  }
}

/**
 * Renders the header.
 *
 * @example
 * ```tsx
 * <ChatHeader ready conn="online" room="lobby" name="Ann" retryIn={null} network ... />
 * ```
 */
export function ChatHeader(p: ChatHeaderProps) {
  const [name, setName] = useState(p.name);
  const [room, setRoom] = useState(p.room);
  useEffect(() => setName(p.name), [p.name]);
  useEffect(() => setRoom(p.room), [p.room]);
  const down = p.conn === "idle" || p.conn === "offline";
  const roomOk = ROOM_PATTERN.test(room);
  const nameOk = name.trim().length >= 1 && name.trim().length <= 64;
  return (
    <header class="top">
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
        <div class="spacer" />
        <span class="status" data-state={p.ready ? p.conn : "starting"} role="status">
          <span class="dot" aria-hidden="true" />
          <span class="status-text">{statusText(p)}</span>
        </span>
        {p.ready && p.conn === "reconnecting" && (
          <button type="button" class="btn btn-ghost" onClick={p.onRetry}>Retry now</button>
        )}
        <button
          type="button"
          class={down ? "btn btn-primary" : "btn"}
          disabled={!p.ready}
          onClick={p.onToggle}
          aria-pressed={!down}
        >
          {down ? "Connect" : "Disconnect"}
        </button>
      </div>
      <div class="top-row fields">
        <form
          class="field"
          onSubmit={(e) => {
            e.preventDefault();
            if (nameOk) p.onName(name.trim());
          }}
        >
          <label for="name-input">Name</label>
          <input
            id="name-input"
            value={name}
            maxLength={64}
            autocomplete="nickname"
            disabled={!p.ready}
            onInput={(e) => setName(e.currentTarget.value)}
            onBlur={() => nameOk && name.trim() !== p.name && p.onName(name.trim())}
          />
        </form>
        <form
          class="field"
          onSubmit={(e) => {
            e.preventDefault();
            if (roomOk) p.onRoom(room);
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
      </div>
    </header>
  );
}
