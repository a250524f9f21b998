/**
 * Server counters, and their rendering as JSON (`/api/stats`) and Prometheus text (`/metrics`).
 *
 * @module
 */

/**
 * Counters the hub updates on its hot path: plain fields, no allocation per event.
 *
 * @example
 * ```ts
 * const m = new Metrics();
 * m.reject("too_large");
 * m.rejected.get("too_large"); // 1
 * ```
 */
export class Metrics {
  /** Messages accepted from clients. */
  messagesIn = 0;
  /** Message copies queued for recipients. */
  messagesOut = 0;
  /** WebSocket frames written. */
  framesOut = 0;
  /** Connections opened since start. */
  connectionsTotal = 0;
  /** Presence frames queued. */
  presenceFrames = 0;
  /** Connections closed for a full send buffer. */
  slowConsumers = 0;
  /** Rejected frames and handshakes by reason. */
  readonly rejected = new Map<string, number>();

  /** Counts one rejection with its reason (an error code or a handshake status). */
  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }
}

/** One Prometheus sample: name, help, type, and values with optional labels. */
export interface Sample {
  name: string;
  help: string;
  type: "counter" | "gauge";
  values: { labels?: Record<string, string>; value: number }[];
}

function labels(map: Record<string, string> | undefined): string {
  if (!map) return "";
  const parts = Object.entries(map).map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`);
  return `{${parts.join(",")}}`;
}

/**
 * Renders samples in the Prometheus text exposition format.
 *
 * @example
 * ```ts
 * renderPrometheus([{ name: "up", help: "Up.", type: "gauge", values: [{ value: 1 }] }]);
 * // "# HELP up Up.\n# TYPE up gauge\nup 1\n"
 * ```
 */
export function renderPrometheus(samples: Sample[]): string {
  let out = "";
  for (const s of samples) {
    out += `# HELP ${s.name} ${s.help}\n# TYPE ${s.name} ${s.type}\n`;
    for (const v of s.values) out += `${s.name}${labels(v.labels)} ${v.value}\n`;
  }
  return out;
}
