/**
 * Browser glue of the chat island: creates the `FanoutClient` with a per-tab client id, forwards
 * its events, and tells it when the network returns or the tab wakes up.
 *
 * @module
 */

import { useEffect, useRef } from "preact/hooks";
import {
  CLIENT_EVENT_TYPES,
  type ClientEvents,
  FanoutClient,
  type ServerLimits,
} from "../lib/client.ts";
import type { ChatEvent, ChatProps } from "./chat_types.ts";

/** What the island wants to hear from the client. */
export interface ClientHandlers {
  /** Every client event, as a reducer event. */
  event(e: ChatEvent): void;
  /** Messages waiting in the outbox. */
  pending(n: number): void;
  /** The limits of the welcome. */
  limits(limits: ServerLimits): void;
  /** The browser's network state. */
  network(up: boolean): void;
  /** The display name the client starts with. */
  name(name: string): void;
}

/**
 * The tab's stable client id (kept in sessionStorage, so a reload keeps it and replays leave out
 * one's own messages).
 *
 * @example
 * ```ts
 * tabClientId(); // "Xq3...", the same until the tab closes
 * ```
 */
export function tabClientId(): string {
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
 * Creates and connects the client after hydration; disconnects it on unmount.
 *
 * @example
 * ```ts
 * const client = useFanoutClient(props, { event: dispatch, pending, limits, network, name });
 * ```
 */
export function useFanoutClient(props: ChatProps, on: ClientHandlers) {
  const client = useRef<FanoutClient | null>(null);
  useEffect(() => {
    const name = startName(props.name);
    on.name(name);
    const url = new URL(props.wsPath, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const c = new FanoutClient({
      url: url.href,
      room: props.room,
      name,
      clientId: tabClientId(),
      ...(props.backoff ? { backoff: props.backoff } : {}),
    });
    client.current = c;
    const offs = CLIENT_EVENT_TYPES.map((type) =>
      c.on(type, (e) => {
        if (type === "outbox") on.pending((e as ClientEvents["outbox"]).items.length);
        if (type === "welcome") {
          if (c.limits) on.limits(c.limits);
          // Probe the fresh connection at once so "Last RTT" shows before the first periodic ping.
          setTimeout(() => c.notifyOnline(), 0);
        }
        on.event({ ...e, type } as ChatEvent);
      })
    );
    let hiddenAt = 0;
    const onVisibility = () => {
      if (document.hidden) hiddenAt = Date.now();
      else if (hiddenAt) c.notifyVisible(Date.now() - hiddenAt);
    };
    const onOnline = () => {
      on.network(true);
      c.notifyOnline();
    };
    const onOffline = () => on.network(false);
    const onPop = () => {
      const room = new URL(location.href).searchParams.get("room") ?? "lobby";
      if (/^[a-z0-9_-]{1,64}$/.test(room) && room !== c.room) {
        on.event({ type: "room", room });
        c.setRoom(room);
      }
    };
    addEventListener("online", onOnline);
    addEventListener("offline", onOffline);
    addEventListener("popstate", onPop);
    document.addEventListener("visibilitychange", onVisibility);
    on.network(navigator.onLine);
    c.connect();
    return () => {
      offs.forEach((off) => off());
      removeEventListener("online", onOnline);
      removeEventListener("offline", onOffline);
      removeEventListener("popstate", onPop);
      document.removeEventListener("visibilitychange", onVisibility);
      c.disconnect();
    };
  }, []);
  return client;
}
