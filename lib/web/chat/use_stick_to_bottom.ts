/**
 * The auto-scroll of the island's Chat and Broadcasts views: a list follows new content while the
 * reader is at the bottom, and stops (offering a jump back) once the reader scrolls up.
 *
 * @module
 */

import { useLayoutEffect, useRef, useState } from "preact/hooks";

/**
 * Follows new content while the reader is at the bottom; returns the "jump" state. `last` is the
 * key of the newest item: the count stops changing once the list is capped, the key does not.
 *
 * @example
 * ```tsx
 * const { ref, onScroll, unseen, jump } = useStickToBottom<HTMLDivElement>(items.at(-1)?.key);
 * <div ref={ref} onScroll={onScroll}>…</div>; // and, while `unseen`, a button calling `jump`
 * ```
 */
export function useStickToBottom<T extends HTMLElement>(last: string | number | undefined) {
  const ref = useRef<T>(null);
  const stick = useRef(true);
  const [unseen, setUnseen] = useState(false);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    if (stick.current) el.scrollTop = el.scrollHeight;
    else if (last !== undefined) setUnseen(true);
  }, [last]);
  const onScroll = () => {
    const el = ref.current;
    if (!el) return;
    stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 48;
    if (stick.current) setUnseen(false);
  };
  const jump = () => {
    const el = ref.current;
    if (!el) return;
    stick.current = true;
    setUnseen(false);
    el.scrollTop = el.scrollHeight;
  };
  return { ref, onScroll, unseen, jump };
}
