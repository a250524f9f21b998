import assert from "node:assert/strict";
import { createAssetStore, type SourceAsset } from "../../lib/web/assets.ts";
import { loadConfig } from "../../lib/shared/config.ts";
import { createFanout } from "../../lib/server/fanout.ts";
import { silentLogger } from "../../lib/shared/log.ts";
import { handleIndex, pageProps } from "../../routes/index.tsx";

const enc = (s: string) => new TextEncoder().encode(s);
const fakeAssets = (fail = false) =>
  createAssetStore((): Promise<SourceAsset[]> =>
    fail ? Promise.reject(new Error("no deno here")) : Promise.resolve([
      { name: "island.js", body: enc("/* bundle */") },
      { name: "app.css", body: enc("body{}") },
    ])
  );

function deps() {
  const upgrade = () => {
    throw new Error("no upgrades in this test");
  };
  return createFanout(loadConfig({ MAX_MESSAGE_BYTES: "2048" }), { upgrade, logger: silentLogger })
    .deps;
}

function islandProps(html: string): Record<string, unknown> {
  const raw = /data-island="Chat" data-props="([^"]*)"/.exec(html)?.[1];
  assert.ok(raw, "the page holds the Chat island");
  return JSON.parse(raw.replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
}

Deno.test("GET / renders the island with JSON props, the hashed bundle and style sheet", async () => {
  const assets = fakeAssets();
  const res = await handleIndex({ ...deps(), assets }, new Request("http://h/?room=dev&name=Ann"));
  assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await res.text();
  const ready = await assets.ready();
  assert.ok(html.includes(`<script type="module" src="${ready.get("island.js")!.url}">`));
  assert.ok(html.includes(`<link rel="stylesheet" href="${ready.get("app.css")!.url}"/>`));
  assert.match(html, /<noscript>.*JavaScript is needed/);
  assert.match(html, /<title>#dev · Fanout<\/title>/);
  assert.deepEqual(islandProps(html), {
    room: "dev",
    name: "Ann",
    wsPath: "/ws",
    auth: false,
    limits: { maxMessageBytes: 2048, rateLimit: 20, rateBurst: 40 },
    backoff: null,
  });
});

Deno.test("GET / still renders its shell when the bundle cannot be built", async () => {
  const res = await handleIndex({ ...deps(), assets: fakeAssets(true) }, new Request("http://h/"));
  const html = await res.text();
  assert.equal(res.status, 200);
  assert.ok(!html.includes("<script"), "no script without a bundle");
  assert.match(html, /JavaScript is needed/);
  assert.equal(islandProps(html).room, "lobby");
});

Deno.test("pageProps: invalid room and name fall back; backoff is parsed and bounded", () => {
  const config = loadConfig({});
  const p = pageProps(new URL("http://h/?room=Bad%20Room&name=%20%20&backoff=5-1"), config);
  assert.equal(p.room, "lobby");
  assert.equal(p.name, null);
  assert.deepEqual(p.backoff, { baseMs: 10, capMs: 10 });
  assert.deepEqual(pageProps(new URL("http://h/?backoff=100-400"), config).backoff, {
    baseMs: 100,
    capMs: 400,
  });
  assert.equal(pageProps(new URL("http://h/?backoff=fast"), config).backoff, null);
});

Deno.test("pageProps: auth is true when the server requires tokens", () => {
  const config = loadConfig({ AUTH_SECRET: "s".repeat(32) });
  assert.equal(pageProps(new URL("http://h/"), config).auth, true);
  assert.equal(pageProps(new URL("http://h/"), loadConfig({})).auth, false);
});
