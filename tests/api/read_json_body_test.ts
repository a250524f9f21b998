import assert from "node:assert/strict";
import { readJsonBody } from "../../lib/api/read_json_body.ts";

function streamed(parts: string[]): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
      controller.close();
    },
  });
  return new Request("http://h/", { method: "POST", body });
}

async function code(r: Awaited<ReturnType<typeof readJsonBody>>) {
  return r.ok ? "ok" : `${r.response.status} ${(await r.response.json()).error.code}`;
}

Deno.test("readJsonBody: at the limit it reads, one byte over it refuses (413)", async () => {
  const body = JSON.stringify({ text: "x".repeat(20) });
  const ok = await readJsonBody(streamed([body.slice(0, 10), body.slice(10)]), body.length);
  assert.deepEqual(ok, { ok: true, value: { text: "x".repeat(20) } });
  assert.equal(await code(await readJsonBody(streamed([body]), body.length - 1)), "413 too_large");
});

Deno.test("readJsonBody: a Content-Length over the limit is refused before reading", async () => {
  const req = new Request("http://h/", {
    method: "POST",
    body: "{}",
    headers: { "content-length": "999999" },
  });
  assert.equal(await code(await readJsonBody(req, 100)), "413 too_large");
});

Deno.test("readJsonBody: empty, not UTF-8 and not JSON are 400 invalid_body", async () => {
  assert.equal(await code(await readJsonBody(streamed([" "]), 100)), "400 invalid_body");
  const bad = new Request("http://h/", { method: "POST", body: new Uint8Array([0xff, 0xfe]) });
  assert.equal(await code(await readJsonBody(bad, 100)), "400 invalid_body");
  assert.equal(await code(await readJsonBody(streamed(["{nope"]), 100)), "400 invalid_body");
});

Deno.test("readJsonBody: a body cut inside a character, then a whole one: the second reads whole", async () => {
  // "é" is 0xc3 0xa9: the first body ends after 0xc3, which must not stay for the next body.
  const bytes = (b: number[]) =>
    new Request("http://h/", { method: "POST", body: new Uint8Array(b) });
  assert.equal(await code(await readJsonBody(bytes([0x22, 0x61, 0xc3]), 100)), "400 invalid_body");
  const whole = await readJsonBody(bytes([0x22, 0xc3, 0xa9, 0x22]), 100);
  assert.deepEqual(whole, { ok: true, value: "é" });
});
