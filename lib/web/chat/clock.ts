/**
 * The clock of the island's parts that show time passing (time online, the reconnect countdown):
 * only they re-render every second, not the whole island with its two views of up to 500 items.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";

/**
 * The current time; while `active`, the component re-renders every `everyMs` (no timer
 * otherwise).
 *
 * @example
 * ```tsx
 * const now = useNow(retryAt !== null);
 * const retryIn = retryAt === null ? null : Math.ceil((retryAt - now) / 1000);
 * ```
 */
export function useNow(active: boolean, everyMs = 1000): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setTick((n) => n + 1), everyMs);
    return () => clearInterval(timer);
  }, [active, everyMs]);
  return Date.now();
}
