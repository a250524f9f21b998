/**
 * `GET /metrics`: Prometheus text format.
 *
 * @module
 */

import type { Engine } from "../lib/engine/engine.ts";
import type { Hub } from "../lib/hub/hub.ts";
import { renderPrometheus, type Sample } from "../lib/hub/metrics.ts";
import type { InboundBudget } from "../lib/transport/ws_frames.ts";
import type { MemoryUsage } from "../lib/shared/memory_usage.ts";

/** What `/metrics` reads. */
export interface MetricsDeps {
  hub: Hub;
  engine: Engine;
  /** Reads process memory (zeros where the runtime tells nothing). */
  memory: () => MemoryUsage;
  /** What the listener holds, once one serves the app (not under `deno serve`). */
  transport: { connections(): number } | null;
  /** Bytes every WebSocket reader holds for incomplete messages. */
  inbound: InboundBudget;
  lifecycle: { readonly draining: boolean };
}

/**
 * Builds the metric samples of the server: no per-room label, and no gauge costs more than one
 * pass over the connections.
 *
 * @example
 * ```ts
 * collectSamples(deps).map((s) => s.name);
 * ```
 */
function collectSamples(deps: MetricsDeps): Sample[] {
  const { hub, engine } = deps;
  const m = hub.metrics;
  const memory = deps.memory();
  const counter = (name: string, help: string, value: number): Sample => ({
    name,
    help,
    type: "counter",
    values: [{ value }],
  });
  const gauge = (name: string, help: string, value: number): Sample => ({
    ...counter(name, help, value),
    type: "gauge",
  });
  return [
    gauge("fanout_connections", "Open WebSocket connections.", hub.size),
    counter(
      "fanout_connections_total",
      "WebSocket connections accepted since start.",
      m.connectionsTotal,
    ),
    gauge("fanout_rooms", "Rooms with local connections.", hub.roomCount),
    counter("fanout_messages_received_total", "Messages accepted from clients.", m.messagesIn),
    counter(
      "fanout_messages_delivered_total",
      "Message copies queued for recipients.",
      m.messagesOut,
    ),
    counter(
      "fanout_frames_sent_total",
      "WebSocket frames written (several messages may share one).",
      m.framesOut,
    ),
    counter("fanout_presence_frames_total", "Presence frames queued.", m.presenceFrames),
    counter(
      "fanout_slow_consumers_total",
      "Connections closed 4008 for a full send buffer.",
      m.slowConsumers,
    ),
    {
      name: "fanout_rejected_total",
      help: "Rejected frames and handshakes by reason.",
      type: "counter",
      values: [...m.rejected].map(([reason, value]) => ({ labels: { reason }, value })),
    },
    gauge("fanout_send_queue_bytes", "Bytes waiting to be sent across all sockets.", hub.backlog()),
    gauge(
      "fanout_tcp_connections",
      "TCP connections the listener holds (requests, keep-alive, WebSockets).",
      deps.transport?.connections() ?? 0,
    ),
    gauge(
      "fanout_engine_rooms",
      "Rooms the engine holds (with history or members).",
      engine.roomCount(),
    ),
    gauge(
      "fanout_history_bytes",
      "Bytes the history of every room holds, against HISTORY_MEMORY_MB.",
      engine.historyBytes ?? 0,
    ),
    gauge(
      "fanout_kv_disk_bytes",
      "Bytes of message bodies the KV engine keeps on disk, against KV_HISTORY_MB (0 otherwise).",
      engine.diskBytes ?? 0,
    ),
    gauge(
      "fanout_kv_disk_rooms",
      "Rooms the KV engine keeps on disk, against KV_MAX_ROOMS (0 otherwise).",
      engine.diskRooms ?? 0,
    ),
    gauge(
      "fanout_dedup_refs",
      "Refs remembered in memory for idempotent resends, against DEDUP_MAX_REFS.",
      engine.refs?.held ?? 0,
    ),
    counter(
      "fanout_dedup_refs_forgotten_total",
      "Refs forgotten before DEDUP_TTL_MS because DEDUP_MAX_REFS were held.",
      engine.refs?.forgotten ?? 0,
    ),
    gauge(
      "fanout_kv_disk_refs",
      "Refs the KV engine keeps on disk, against KV_MAX_REFS (0 otherwise).",
      engine.diskRefs?.held ?? 0,
    ),
    counter(
      "fanout_kv_disk_refs_forgotten_total",
      "Refs deleted from disk before DEDUP_TTL_MS because KV_MAX_REFS were there (KV engine).",
      engine.diskRefs?.forgotten ?? 0,
    ),
    gauge(
      "fanout_inbound_bytes",
      "Bytes held for incoming WebSocket messages not complete yet, against INBOUND_MEMORY_MB.",
      deps.inbound.held,
    ),
    gauge(
      "fanout_tracked_addresses",
      "Client addresses the per-address limits remember.",
      hub.addressCount,
    ),
    gauge(
      "fanout_engine_up",
      `1 when the ${engine.name} engine accepts messages.`,
      engine.healthy ? 1 : 0,
    ),
    gauge("fanout_draining", "1 while the server shuts down.", deps.lifecycle.draining ? 1 : 0),
    gauge("process_resident_memory_bytes", "Resident set size.", memory.rss),
    gauge("process_heap_used_bytes", "V8 heap in use.", memory.heapUsed),
  ];
}

/**
 * Answers `/metrics`.
 *
 * @example
 * ```ts
 * app.get("/metrics", () => handleMetrics(deps));
 * ```
 */
export function handleMetrics(deps: MetricsDeps): Response {
  return new Response(renderPrometheus(collectSamples(deps)), {
    headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
  });
}
