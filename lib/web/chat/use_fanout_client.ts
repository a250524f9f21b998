/**
 * Browser glue of the chat island: creates the `FanoutClient` with the tab's client id and the
 * starting name, forwards its events, and tells it when the network returns or the tab wakes up.
 *
 * @module
 */

import { useEffect, useRef } from "preact/hooks";
import {
  CLIENT_EVENT_TYPES,
  type ClientEvents,
  FanoutClient,
  type ServerLimits,
} from "../../client/client.ts";
import { ROOM_PATTERN } from "../../protocol/handshake.ts";
import { startName, withoutName } from "./name.ts";
import { browserStorage } from "./storage.ts";
import { pageToken } from "./page_token.ts";
import { holdTabClientId, releaseTabClientId, tabClientId } from "./tab_id.ts";
import type { ChatEvent, ChatProps } from "./types.ts";

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

function createClient(
  props: ChatProps,
  name: string | null,
  clientId: string,
  token: string | null,
): FanoutClient {
  const url = new URL(props.wsPath, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return new FanoutClient({
    url: url.href,
    room: props.room,
    name,
    clientId,
    auth: props.auth,
    ...(token !== null ? { token } : {}),
    ...(props.backoff ? { backoff: props.backoff } : {}),
  });
}

/**
 * Moves `client` to `room` when that is a valid room other than the current one: over the open
 * connection when online (`client.switchRoom`: no reconnect), else by the next connection. The
 * reducer hears of it first (with how many queued messages the switch drops), so the events the
 * client then emits belong to the new room. Returns false when nothing changed.
 *
 * @example
 * ```ts
 * if (switchRoom(client, "dev", dispatch)) history.pushState(null, "", "/?room=dev");
 * ```
 */
export function switchRoom(
  client: FanoutClient,
  room: string,
  event: (e: ChatEvent) => void,
): boolean {
  if (!ROOM_PATTERN.test(room) || room === client.room) return false;
  event({ type: "room", room, discarded: client.outbox.length });
  client.switchRoom(room);
  return true;
}

/**
 * Forwards every event of `client` to the island's handlers. After a welcome it also hands on
 * the limits and, once the welcome's listeners have run (`defer`, default a zero timeout), probes
 * the fresh connection so that "Last RTT" shows before the first periodic ping. That probe is
 * `ping()`: should the socket close in between, it must not cut the backoff wait short.
 * Returns the function that stops forwarding.
 *
 * @example
 * ```ts
 * const stop = forwardEvents(client, { event: dispatch, pending, limits });
 * stop(); // on unmount
 * ```
 */
export function forwardEvents(
  client: FanoutClient,
  on: Pick<ClientHandlers, "event" | "pending" | "limits">,
  defer: (fn: () => void) => void = (fn) => setTimeout(fn, 0),
): () => void {
  const offs = CLIENT_EVENT_TYPES.map((type) =>
    client.on(type, (e) => {
      if (type === "outbox") on.pending((e as ClientEvents["outbox"]).items.length);
      if (type === "welcome") {
        if (client.limits) on.limits(client.limits);
        defer(() => client.ping());
      }
      on.event({ ...e, type } as ChatEvent);
    })
  );
  return () => offs.forEach((off) => off());
}

/**
 * Creates and connects the client after hydration; disconnects it on unmount. A `name` in the
 * page URL is saved and then removed from the address bar, so shared links carry only the room.
 *
 * @example
 * ```ts
 * const client = useFanoutClient(props, { event: dispatch, pending, limits, network, name });
 * ```
 */
export function useFanoutClient(props: ChatProps, on: ClientHandlers) {
  const client = useRef<FanoutClient | null>(null);
  useEffect(() => {
    const local = browserStorage("localStorage");
    const session = browserStorage("sessionStorage");
    const fromUrl = new URL(location.href).searchParams.get("name");
    const start = startName(fromUrl, local);
    const clean = withoutName(location.href);
    if (clean !== null) history.replaceState(history.state, "", clean);
    if (start.notice) on.event({ type: "notice", text: start.notice });
    const clientId = tabClientId(session);
    // Auth mode: the token of the link (#token=...), kept for this tab, out of the address bar.
    const token = props.auth ? pageToken(location.href, session) : { token: null, clean: null };
    if (token.clean !== null) history.replaceState(history.state, "", token.clean);
    let c: FanoutClient;
    try {
      c = createClient(props, start.name, clientId, token.token);
      on.name(start.name);
    } catch (err) {
      // Cannot happen with the checks above; if it does, say why instead of hanging.
      on.event({ type: "notice", text: `Could not start the chat: ${(err as Error).message}` });
      return;
    }
    client.current = c;
    const stopForwarding = forwardEvents(c, on);
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
    const onPop = () =>
      switchRoom(c, new URL(location.href).searchParams.get("room") ?? "lobby", on.event);
    const onHide = () => releaseTabClientId(session, clientId);
    const onShow = (e: PageTransitionEvent) => e.persisted && holdTabClientId(session, clientId);
    addEventListener("online", onOnline);
    addEventListener("offline", onOffline);
    addEventListener("popstate", onPop);
    addEventListener("pagehide", onHide);
    addEventListener("pageshow", onShow);
    document.addEventListener("visibilitychange", onVisibility);
    on.network(navigator.onLine);
    c.connect();
    return () => {
      stopForwarding();
      removeEventListener("online", onOnline);
      removeEventListener("offline", onOffline);
      removeEventListener("popstate", onPop);
      removeEventListener("pagehide", onHide);
      removeEventListener("pageshow", onShow);
      document.removeEventListener("visibilitychange", onVisibility);
      onHide();
      c.disconnect();
    };
  }, []);
  return client;
}
