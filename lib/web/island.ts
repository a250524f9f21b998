/**
 * Server side of the island runtime: {@linkcode Island} renders a component on the server inside a
 * marked wrapper that carries its props as JSON, and {@linkcode renderPage} renders a whole page and
 * tells which islands it holds, so the boot script is only added to pages that need it.
 * The browser side is `lib/web/island_boot.ts`.
 *
 * @module
 */

import { type ComponentType, h, type VNode } from "preact";
import { renderToString } from "preact-render-to-string";

/** Attribute that marks an island's wrapper; its value is the island's name. */
export const ISLAND_ATTR = "data-island";
/** Attribute that holds an island's props as JSON. */
export const PROPS_ATTR = "data-props";

/** Props of {@linkcode Island}. */
export interface IslandProps<P> {
  /** Name the boot script knows the component by (see `browser.ts`). */
  name: string;
  component: ComponentType<P>;
  /** Plain JSON data: it is serialized into the page and parsed again in the browser. */
  props: P;
}

let collecting: string[] | null = null;

/**
 * Renders `component` with `props` inside `<div data-island=name data-props=json>`.
 *
 * @example
 * ```tsx
 * <Island name="Chat" component={Chat} props={{ room: "lobby" }} />
 * ```
 */
export function Island<P>({ name, component, props }: IslandProps<P>): VNode {
  const bad = notJson(props, "props");
  if (bad) throw new TypeError(`island ${name}: props must be plain JSON, but ${bad}`);
  const json = JSON.stringify(props);
  collecting?.push(name);
  return h<Record<string, unknown>>(
    "div",
    { [ISLAND_ATTR]: name, [PROPS_ATTR]: json, class: "island" },
    h(component as ComponentType<Record<string, unknown>>, props as Record<string, unknown>),
  );
}

function notJson(value: unknown, path: string): string | null {
  if (value === null || typeof value === "string" || typeof value === "boolean") return null;
  if (typeof value === "number") return Number.isFinite(value) ? null : `${path} is ${value}`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = notJson(value[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [key, item] of Object.entries(value)) {
      const bad = notJson(item, `${path}.${key}`);
      if (bad) return bad;
    }
    return null;
  }
  const kind = typeof value === "object" ? value.constructor?.name ?? "object" : typeof value;
  return `${path} is a ${kind}`;
}

/** Result of {@linkcode renderPage}. */
export interface RenderedPage {
  /** `<!doctype html>` plus the markup. */
  html: string;
  /** Names of the islands on the page, in document order. */
  islands: string[];
}

/**
 * Renders a page to HTML and collects the islands it holds. When there is at least one island and
 * `bootSrc` is given, a `<script type="module">` for it is added before `</body>`; pages without
 * islands get no script at all.
 *
 * @example
 * ```tsx
 * const { html, islands } = renderPage(<Page />, "/assets/island.abc123.js");
 * ```
 */
export function renderPage(page: VNode, bootSrc?: string | null): RenderedPage {
  const islands: string[] = [];
  const outer = collecting;
  collecting = islands;
  let markup: string;
  try {
    markup = renderToString(page);
  } finally {
    collecting = outer;
  }
  if (islands.length > 0 && bootSrc) {
    const tag = `<script type="module" src="${escapeAttr(bootSrc)}"></script>`;
    const at = markup.lastIndexOf("</body>");
    markup = at >= 0 ? markup.slice(0, at) + tag + markup.slice(at) : markup + tag;
  }
  return { html: "<!doctype html>" + markup, islands };
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
}
