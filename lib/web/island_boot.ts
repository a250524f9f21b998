/**
 * Browser side of the island runtime and the bundle's entry point: finds every element marked by
 * `Island` (`lib/web/island.ts`), parses its JSON props and hydrates the named component in place.
 *
 * @module
 */

import { type ComponentType, h, hydrate } from "preact";
import { Chat } from "../../islands/Chat.tsx";

/** The components the bundle can hydrate, by island name. */
// deno-lint-ignore no-explicit-any
export const ISLANDS: Record<string, ComponentType<any>> = { Chat };

/**
 * Hydrates every island below `root`; returns how many were hydrated. Unknown names and broken
 * props are reported on the console and skipped, so one bad island does not stop the others.
 *
 * @example
 * ```ts
 * bootIslands(document);
 * ```
 */
export function bootIslands(
  root: ParentNode,
  islands: Record<string, ComponentType<unknown>> = ISLANDS,
): number {
  let count = 0;
  for (const el of Array.from(root.querySelectorAll<HTMLElement>("[data-island]"))) {
    const name = el.dataset.island ?? "";
    const component = islands[name];
    if (!component) {
      console.error(`island boot: no component named "${name}" in the bundle`);
      continue;
    }
    try {
      const props = JSON.parse(el.dataset.props ?? "{}");
      hydrate(h(component, props), el);
      el.dataset.hydrated = "true";
      count++;
    } catch (err) {
      console.error(`island boot: could not hydrate "${name}":`, err);
    }
  }
  return count;
}

if (typeof document !== "undefined") bootIslands(document);
