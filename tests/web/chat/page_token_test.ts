import assert from "node:assert/strict";
import { pageToken, TOKEN_KEY } from "../../../lib/web/chat/page_token.ts";

function memory() {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    removeItem: (k: string) => void map.delete(k),
  };
}

Deno.test("pageToken: #token= is saved for the tab and removed from the address", () => {
  const session = memory();
  const got = pageToken("http://h/?room=dev#token=a.b.c", session);
  assert.deepEqual(got, { token: "a.b.c", clean: "http://h/?room=dev" });
  assert.equal(session.map.get(TOKEN_KEY), "a.b.c");
  const other = pageToken("http://h/?room=dev#x=1&token=a.b.c", memory());
  assert.equal(other.clean, "http://h/?room=dev#x=1");
});

Deno.test("pageToken: without a fragment token the saved one is used, nothing to clean", () => {
  const session = memory();
  session.setItem(TOKEN_KEY, "s.a.v");
  assert.deepEqual(pageToken("http://h/?room=dev", session), { token: "s.a.v", clean: null });
  assert.deepEqual(pageToken("http://h/", memory()), { token: null, clean: null });
});

Deno.test("pageToken: a token that is not a JWT is removed from the address and not used", () => {
  const session = memory();
  assert.deepEqual(pageToken("http://h/#token=<script>", session), {
    token: null,
    clean: "http://h/",
  });
  assert.equal(session.map.size, 0);
});

Deno.test("pageToken: storage that throws still gives the token of the address", () => {
  const broken = {
    getItem: () => {
      throw new Error("denied");
    },
    setItem: () => {
      throw new Error("denied");
    },
    removeItem: () => {},
  };
  assert.equal(pageToken("http://h/#token=a.b.c", broken).token, "a.b.c");
  assert.equal(pageToken("http://h/", broken).token, null);
});
