import assert from "node:assert/strict";
import { h } from "preact";
import { Island, type IslandProps, renderPage } from "../../lib/web/island.ts";

function Hello({ who }: { who: string }) {
  return h("p", { class: "hello" } as Record<string, unknown>, `hello ${who}`);
}

const island = (props: { who: string }) =>
  h<IslandProps<{ who: string }>>(Island, { name: "Hello", component: Hello, props });

Deno.test("renderPage marks an island with its JSON props and adds the boot script", () => {
  const page = h(
    "html",
    null,
    h("body", null, island({ who: '</script>&"' })),
  );
  const { html, islands } = renderPage(page, "/assets/island.abc.js");
  assert.deepEqual(islands, ["Hello"]);
  assert.ok(html.startsWith("<!doctype html>"));
  const match = /<div data-island="Hello" data-props="([^"]*)"[^>]*>(.*?)<\/div>/.exec(html);
  assert.ok(match, html);
  const json = match[1].replace(/&quot;/g, '"').replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
  assert.deepEqual(JSON.parse(json), { who: '</script>&"' });
  assert.ok(!match[1].includes("</script>"), "props must not be able to close a script tag");
  assert.match(match[2], /<p class="hello">hello &lt;\/script>&amp;&quot;<\/p>/);
  assert.ok(
    html.endsWith('<script type="module" src="/assets/island.abc.js"></script></body></html>'),
  );
});

Deno.test("renderPage adds no script to a page without islands", () => {
  const { html, islands } = renderPage(h("html", null, h("body", null, "static")), "/x.js");
  assert.deepEqual(islands, []);
  assert.ok(!html.includes("<script"), html);
});

Deno.test("Island refuses props that are not plain JSON", () => {
  const bad = { when: new Date(0) } as unknown as { who: string };
  assert.throws(
    () => renderPage(h("main", null, island(bad))),
    /props must be plain JSON, but props.when is a Date/,
  );
});
