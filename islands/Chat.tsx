/**
 * The web client's one island: owns a `FanoutClient`, feeds its events into the view-state
 * reducer (`lib/web/chat/state.ts`) and renders header, metrics, the Chat and Broadcasts views and
 * the composer. Its props are plain JSON so the server can render it and the browser hydrate it.
 *
 * @module
 */

import { useEffect, useReducer, useState } from "preact/hooks";
import { useAnnouncement } from "../lib/web/chat/announce.ts";
import { switchRoom, useFanoutClient } from "../lib/web/chat/use_fanout_client.ts";
import { saveName } from "../lib/web/chat/name.ts";
import { browserStorage } from "../lib/web/chat/storage.ts";
import { ChatHeader } from "../components/ChatHeader.tsx";
import { Composer } from "../components/Composer.tsx";
import { Metrics } from "../components/Metrics.tsx";
import { type ChatEvent, initialState, reduce } from "../lib/web/chat/state.ts";
import type { ChatProps } from "../lib/web/chat/types.ts";
import { BroadcastsView } from "../components/BroadcastsView.tsx";
import { ChatView } from "../components/ChatView.tsx";

export type { ChatProps };

/** True below the 860 px breakpoint, where the views are tabs (false on the server). */
function useNarrow(): boolean {
  const [narrow, setNarrow] = useState(false);
  useEffect(() => {
    const query = matchMedia("(max-width: 860px)");
    const update = () => setNarrow(query.matches);
    update();
    query.addEventListener("change", update);
    return () => query.removeEventListener("change", update);
  }, []);
  return narrow;
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
  const [ready, setReady] = useState(false);
  const [name, setName] = useState(props.name ?? "");
  const [tab, setTab] = useState<"chat" | "log">("chat");
  const [network, setNetwork] = useState(true);
  const [pending, setPending] = useState(0);
  const [limits, setLimits] = useState(props.limits);

  const client = useFanoutClient(props, {
    event: dispatch,
    pending: setPending,
    limits: setLimits,
    network: setNetwork,
    name: setName,
  });
  useEffect(() => setReady(true), []);

  useEffect(() => {
    document.title = `#${state.room} · Fanout`;
  }, [state.room]);

  const narrow = useNarrow();
  const announce = useAnnouncement(state.log);
  const c = client.current;
  const onRoom = (room: string) => {
    if (!c || !switchRoom(c, room, dispatch)) return;
    // Only the room goes into the address bar: the link is for sharing.
    const url = new URL(location.href);
    url.searchParams.set("room", room);
    url.searchParams.delete("name");
    history.pushState(null, "", url);
  };
  // The header passes only trimmed names that pass the server's rule; setName checks it again.
  const onName = (next: string) => {
    if (!c) return;
    try {
      c.setName(next);
    } catch (err) {
      dispatch({ type: "notice", text: `Name not changed: ${(err as Error).message}.` });
      return;
    }
    setName(next);
    if (!saveName(browserStorage("localStorage"), next)) {
      dispatch({ type: "notice", text: "This browser did not let the page save your name." });
    }
  };
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
        refusal={state.refusal}
        attempt={state.attempt}
        room={state.room}
        name={name}
        retryAt={state.retryAt}
        network={network}
        onToggle={() => {
          if (!c) return;
          if (c.state === "idle" || c.state === "offline" || c.state === "refused") c.connect();
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
      <Metrics
        stats={state.stats}
        pending={pending}
        live={state.conn === "online"}
      />
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
        <section
          class="pane pane-chat"
          id="pane-chat"
          {...(narrow ? { role: "tabpanel", "aria-labelledby": "tab-chat" } : {
            "aria-labelledby": "h-chat",
          })}
        >
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
        <section
          class="pane pane-log"
          id="pane-log"
          {...(narrow ? { role: "tabpanel", "aria-labelledby": "tab-log" } : {
            "aria-labelledby": "h-log",
          })}
        >
          <h2 id="h-log" class="pane-title">Broadcasts</h2>
          <BroadcastsView entries={state.log} />
        </section>
      </main>
      <div class="sr-only" aria-live="polite" aria-atomic="true">{announce}</div>
    </div>
  );
}
