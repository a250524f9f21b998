/**
 * Browser side of the island runtime: finds every element marked by `Island`
 * (`lib/web/island.ts`), parses its JSON props and hydrates the named component in place. The
 * bundle's entry point (`browser.ts`) names the islands and calls it.
 *
 * @module
 */

import { type ComponentType, h, hydrate } from "preact";

/** The components a bundle can hydrate, by island name. */
// deno-lint-ignore no-explicit-any
export type IslandRegistry = Record<string, ComponentType<any>>;

/**
 * Hydrates every island below `root`; returns how many were hydrated. Unknown names and broken
 * props are reported on the console and skipped, so one bad island does not stop the others.
 *
 * @example
 * ```ts
 * bootIslands(document, { Chat });
 * ```
 */
export function bootIslands(
  root: ParentNode,
  islands: IslandRegistry,
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
