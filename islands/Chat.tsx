/**
 * The web client's one island: owns a `FanoutClient`, feeds its events into the view-state
 * reducer (`chat_state.ts`) and renders header, metrics, the Chat and Broadcasts views and the
 * composer. Its props are plain JSON so the server can render it and the browser hydrate it.
 *
 * @module
 */

import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import { type ClientEvents, FanoutClient } from "../lib/client.ts";
import { ChatHeader } from "./chat_header.tsx";
import { Composer } from "./chat_composer.tsx";
import { Metrics } from "./chat_metrics.tsx";
import { type ChatEvent, initialState, reduce, timeOnline } from "./chat_state.ts";
import { BroadcastsView, ChatView } from "./chat_views.tsx";

/** Props of {@linkcode Chat} (plain JSON). */
export interface ChatProps {
  room: string;
  /** Display name from the URL, else the one stored in the browser, else a guest name. */
  name: string | null;
  /** Path of the WebSocket endpoint, e.g. `/ws`. */
  wsPath: string;
  /** The server's limits, shown before the welcome confirms them. */
  limits: { maxMessageBytes: number; rateLimit: number; rateBurst: number };
  /** Reconnect backoff override (tests use a short one), else the client's default. */
  backoff: { baseMs: number; capMs: number } | null;
}

const EVENTS: (keyof ClientEvents)[] = [
  "state",
  "welcome",
  "message",
  "gap",
  "ack",
  "outbox",
  "presence",
  "error",
  "rtt",
];

function tabClientId(): string {
  const key = "fanout.client";
  let id = sessionStorage.getItem(key);
  if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) {
    const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => abc[b % abc.length])
      .join("");
    sessionStorage.setItem(key, id);
  }
  return id;
}

function startName(fromUrl: string | null): string {
  const stored = localStorage.getItem("fanout.name");
  return fromUrl || stored || `guest-${Math.floor(1000 + Math.random() * 9000)}`;
}

/**
 * The chat island.
 *
 * @example
 * ```tsx
 * <Island name="Chat" component={Chat} props={{ room: "lobby", name: null, wsPath: "/ws",
 *   limits: { maxMessageBytes: 65536, rateLimit: 20, rateBurst: 40 }, backoff: null }} />
 * ```
 */
export function Chat(props: ChatProps) {
  const [state, dispatch] = useReducer(
    (s: ReturnType<typeof initialState>, e: ChatEvent) => reduce(s, e, Date.now()),
    props.room,
    initialState,
  );
  const client = useRef<FanoutClient | null>(null);
  const [ready, setReady] = useState(false);
  const [name, setName] = useState(props.name ?? "");
  const [now, setNow] = useState(0);
  const [tab, setTab] = useState<"chat" | "log">("chat");
  const [network, setNetwork] = useState(true);
  const [pending, setPending] = useState(0);
  const [limits, setLimits] = useState(props.limits);

  useEffect(() => {
    const first = startName(props.name);
    setName(first);
    const url = new URL(props.wsPath, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const c = new FanoutClient({
      url: url.href,
      room: props.room,
      name: first,
      clientId: tabClientId(),
      ...(props.backoff ? { backoff: props.backoff } : {}),
    });
    client.current = c;
    const offs = EVENTS.map((type) =>
      c.on(type, (e) => {
        if (type === "outbox") setPending((e as ClientEvents["outbox"]).items.length);
        if (type === "welcome") {
          if (c.limits) setLimits(c.limits);
          // Probe the fresh connection at once so "Last RTT" is filled without waiting for
          // the first periodic ping.
          setTimeout(() => c.notifyOnline(), 0);
        }
        dispatch({ ...e, type } as ChatEvent);
      })
    );
    let hiddenAt = 0;
    const onVisibility = () => {
      if (document.hidden) hiddenAt = Date.now();
      else if (hiddenAt) c.notifyVisible(Date.now() - hiddenAt);
    };
    const onOnline = () => {
      setNetwork(true);
      c.notifyOnline();
    };
    const onOffline = () => setNetwork(false);
    const onPop = () => {
      const room = new URL(location.href).searchParams.get("room") ?? "lobby";
      if (/^[a-z0-9_-]{1,64}$/.test(room) && room !== c.room) {
        dispatch({ type: "room", room });
        c.setRoom(room);
      }
    };
    addEventListener("online", onOnline);
    addEventListener("offline", onOffline);
    addEventListener("popstate", onPop);
    document.addEventListener("visibilitychange", onVisibility);
    setNetwork(navigator.onLine);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    setNow(Date.now());
    setReady(true);
    c.connect();
    return () => {
      offs.forEach((off) => off());
      clearInterval(tick);
      removeEventListener("online", onOnline);
      removeEventListener("offline", onOffline);
      removeEventListener("popstate", onPop);
      document.removeEventListener("visibilitychange", onVisibility);
      c.disconnect();
    };
  }, []);

  useEffect(() => {
    document.title = `#${state.room} · Fanout`;
  }, [state.room]);

  const c = client.current;
  const onRoom = (room: string) => {
    if (!c || room === c.room) return;
    dispatch({ type: "room", room });
    c.setRoom(room);
    const url = new URL(location.href);
    url.searchParams.set("room", room);
    history.pushState(null, "", url);
  };
  const onName = (next: string) => {
    setName(next);
    localStorage.setItem("fanout.name", next);
    c?.setName(next);
  };
  const retryIn = state.retryAt === null
    ? null
    : Math.max(0, Math.ceil((state.retryAt - now) / 1000));
  const last = state.log.at(-1);
  const announce = last && ["message", "gap", "error", "join", "leave"].includes(last.kind)
    ? (last.name ? `${last.name}: ` : "") + last.text
    : "";
  const tabKey = (e: KeyboardEvent) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    const next = tab === "chat" ? "log" : "chat";
    setTab(next);
    document.getElementById(`tab-${next}`)?.focus();
  };

  return (
    <div class="app" data-ready={ready ? "true" : "false"}>
      <ChatHeader
        ready={ready}
        conn={state.conn}
        room={state.room}
        name={name}
        retryIn={retryIn}
        network={network}
        onToggle={() => {
          if (!c) return;
          if (c.state === "idle" || c.state === "offline") c.connect();
          else c.disconnect();
        }}
        onRetry={() => c?.retryNow()}
        onName={onName}
        onRoom={onRoom}
      />
      {state.notices.length > 0 && (
        <div class="notices" role="alert">
          {state.notices.map((n) => (
            <div class="notice" key={n.seq}>
              <span>{n.text}</span>
              <button
                type="button"
                class="btn btn-ghost"
                aria-label="Dismiss notice"
                onClick={() => dispatch({ type: "dismiss", seq: n.seq })}
              >
                ×
              </button>
            </div>
          ))}
        </div>
      )}
      <Metrics stats={state.stats} onlineMs={timeOnline(state, now || 0)} pending={pending} />
      <div class="tabs" role="tablist" aria-label="Views" onKeyDown={tabKey}>
        {(["chat", "log"] as const).map((t) => (
          <button
            type="button"
            role="tab"
            id={`tab-${t}`}
            key={t}
            aria-selected={tab === t}
            aria-controls={`pane-${t}`}
            tabIndex={tab === t ? 0 : -1}
            onClick={() => setTab(t)}
          >
            {t === "chat" ? "Chat" : "Broadcasts"}
            {t === "log" && <span class="badge">{state.stats.events}</span>}
          </button>
        ))}
      </div>
      <main class="panes" data-tab={tab}>
        <section class="pane pane-chat" id="pane-chat" aria-labelledby="h-chat">
          <h2 id="h-chat" class="pane-title">Chat</h2>
          <ChatView items={state.chat} empty={`No messages in #${state.room} yet. Say hi!`} />
          <Composer
            ready={ready}
            conn={state.conn}
            maxBytes={limits.maxMessageBytes}
            pending={pending}
            onSend={(text) => c?.send(text)}
          />
        </section>
        <section class="pane pane-log" id="pane-log" aria-labelledby="h-log">
          <h2 id="h-log" class="pane-title">Broadcasts</h2>
          <BroadcastsView entries={state.log} />
        </section>
      </main>
      <div class="sr-only" aria-live="polite" aria-atomic="true">{announce}</div>
    </div>
  );
}
