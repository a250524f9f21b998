/**
 * Client addresses: the key per-address limits count by (IPv4 as is, IPv6 by its /64, loopback
 * and IPv4-mapped forms folded, brackets dropped, junk unchanged), what counts as an address, and
 * which address a request has with TRUST_PROXY off, on X-Forwarded-For, or on a named header.
 */

import assert from "node:assert/strict";
import type { TrustProxy } from "../../lib/shared/config.ts";
import { addressKey, clientAddress, isIpAddress } from "../../lib/transport/client_address.ts";

Deno.test("addressKey: IPv4 addresses are their own key", () => {
  assert.equal(addressKey("127.0.0.2"), "127.0.0.2");
  assert.equal(addressKey("203.0.113.255"), "203.0.113.255");
  assert.equal(addressKey("0.0.0.0"), "0.0.0.0");
  assert.equal(addressKey("010.001.000.001"), "10.1.0.1", "leading zeros dropped");
  assert.equal(addressKey("[192.0.2.1]"), "192.0.2.1");
});

Deno.test("addressKey: IPv6 addresses count by their /64, whatever their spelling", () => {
  const key = "2001:db8:1:2::/64";
  for (
    const address of [
      "2001:db8:1:2::1",
      "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
      "2001:0db8:0001:0002:0000:0000:0000:0001",
      "2001:DB8:1:2::FFFF",
      "2001:db8:1:2::",
      "2001:db8:1:2:0:0:0:0",
      "[2001:db8:1:2::1]",
      "2001:db8:1:2:3:4:192.0.2.1",
    ]
  ) {
    assert.equal(addressKey(address), key, address);
  }
  assert.equal(addressKey("2001:db8:1:3::1"), "2001:db8:1:3::/64", "the next /64 is another key");
  assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(addressKey("fe80::1"), "fe80:0:0:0::/64");
  assert.equal(addressKey("::"), "0:0:0:0::/64");
  assert.equal(addressKey("1:2:3:4:5:6:7::"), "1:2:3:4::/64");
  assert.equal(addressKey("::2:3:4:5:6:7:8"), "0:2:3:4::/64");
});

Deno.test("addressKey: loopback is ::1 in any spelling", () => {
  for (
    const address of ["::1", "0:0:0:0:0:0:0:1", "0000:0000:0000:0000:0000:0000:0000:0001", "[::1]"]
  ) {
    assert.equal(addressKey(address), "::1", address);
  }
  assert.equal(addressKey("::2"), "0:0:0:0::/64", "only ::1 is loopback");
});

Deno.test("addressKey: IPv4-mapped IPv6 counts as the IPv4 address", () => {
  for (
    const address of [
      "::ffff:10.0.0.1",
      "::FFFF:10.0.0.1",
      "0:0:0:0:0:ffff:10.0.0.1",
      "::ffff:a00:1",
      "0:0:0:0:0:ffff:0a00:0001",
      "[::ffff:10.0.0.1]",
    ]
  ) {
    assert.equal(addressKey(address), "10.0.0.1", address);
  }
  assert.equal(addressKey("::ffff:255.255.255.255"), "255.255.255.255");
  assert.equal(addressKey("::ffff:0.0.0.0"), "0.0.0.0");
  // Other embeddings of IPv4 are IPv6 addresses like any other.
  assert.equal(addressKey("64:ff9b::192.0.2.33"), "64:ff9b:0:0::/64", "NAT64");
  assert.equal(addressKey("::10.0.0.1"), "0:0:0:0::/64", "IPv4-compatible");
  assert.equal(addressKey("::ffff:0:10.0.0.1"), "0:0:0:0::/64", "IPv4-translated");
});

Deno.test("addressKey: anything that is not an address is its own key", () => {
  for (
    const junk of [
      "unix",
      "",
      "localhost",
      "example.test",
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7:8::",
      "1::2::3",
      ":::",
      ":1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:",
      "12345::",
      "g::1",
      "::ffff:300.0.0.1",
      "::ffff:1.2.3",
      "1:2:3:4:5:6:7:1.2.3.4",
      "1.2.3.4::",
      "fe80::1%eth0",
      "a".repeat(50),
    ]
  ) {
    assert.equal(addressKey(junk), junk, JSON.stringify(junk));
  }
  assert.equal(addressKey("[junk]"), "junk", "brackets are dropped");
  assert.equal(addressKey("[::1"), "[::1", "a bracket that is not closed is kept");
});

Deno.test("isIpAddress: IPv4 and IPv6 addresses only", () => {
  for (
    const ok of [
      "203.0.113.9",
      "0.0.0.0",
      "::",
      "::1",
      "2001:db8::1",
      "::ffff:10.0.0.1",
      "1:2:3:4:5:6:7:8",
    ]
  ) {
    assert.equal(isIpAddress(ok), true, ok);
  }
  for (
    const bad of [
      "",
      "evil, 1.2.3.4",
      "1.2.3.4, 5.6.7.8",
      " 1.2.3.4",
      "1.2.3.4:80",
      "[::1]",
      "[::1]:80",
      "256.0.0.1",
      "localhost",
      "unknown",
      "1::2::3",
      "fe80::1%eth0",
    ]
  ) {
    assert.equal(isIpAddress(bad), false, JSON.stringify(bad));
  }
});

const PEER = "10.0.0.2";
const OFF: TrustProxy = { kind: "off" };
const XFF: TrustProxy = { kind: "forwarded-for" };
const REAL_IP: TrustProxy = { kind: "header", name: "x-real-ip" };

Deno.test("clientAddress: with TRUST_PROXY off, the peer whatever the headers say", () => {
  const headers = new Headers({ "x-forwarded-for": "203.0.113.9", "x-real-ip": "203.0.113.10" });
  assert.equal(clientAddress(headers, PEER, OFF), PEER);
});

Deno.test("clientAddress: X-Forwarded-For: the last entry, the one the trusted proxy appended", () => {
  const cases: [string, string][] = [
    ["203.0.113.9", "203.0.113.9"],
    ["198.51.100.1, 203.0.113.9", "203.0.113.9"],
    ["spoofed, 198.51.100.1,203.0.113.9  ", "203.0.113.9"],
    ["198.51.100.1,\t2001:db8::7", "2001:db8::7"],
    ["::ffff:203.0.113.9", "::ffff:203.0.113.9"],
  ];
  for (const [value, expected] of cases) {
    const headers = new Headers({ "x-forwarded-for": value });
    assert.equal(clientAddress(headers, PEER, XFF), expected, value);
  }
  // Several headers are joined: the last entry of the last one.
  const headers = new Headers();
  headers.append("x-forwarded-for", "198.51.100.1");
  headers.append("X-Forwarded-For", "203.0.113.9");
  assert.equal(clientAddress(headers, PEER, XFF), "203.0.113.9");
});

Deno.test("clientAddress: a missing or malformed X-Forwarded-For falls back to the peer", () => {
  assert.equal(clientAddress(new Headers(), PEER, XFF), PEER);
  for (
    const value of [
      "",
      "unknown",
      "203.0.113.9, evil",
      "203.0.113.9,",
      "203.0.113.9:4711",
      "[2001:db8::7]",
      "203.0.113.9 198.51.100.1",
      `${"1.1.1.1, ".repeat(120)}203.0.113.9`, // longer than 1024 characters
    ]
  ) {
    const headers = new Headers({ "x-forwarded-for": value });
    assert.equal(clientAddress(headers, PEER, XFF), PEER, JSON.stringify(value.slice(0, 40)));
  }
  // Only X-Forwarded-For counts in this mode.
  assert.equal(clientAddress(new Headers({ "x-real-ip": "203.0.113.9" }), PEER, XFF), PEER);
});

Deno.test("clientAddress: a named header: its whole value, trimmed, when it is one address", () => {
  assert.equal(
    clientAddress(new Headers({ "x-real-ip": "203.0.113.9" }), PEER, REAL_IP),
    "203.0.113.9",
  );
  assert.equal(
    clientAddress(new Headers({ "X-Real-IP": " 2001:db8::7 " }), PEER, REAL_IP),
    "2001:db8::7",
  );
  for (const value of ["", "1.1.1.1, 203.0.113.9", "evil", "203.0.113.9:80", "a".repeat(2000)]) {
    assert.equal(
      clientAddress(new Headers({ "x-real-ip": value }), PEER, REAL_IP),
      PEER,
      value.slice(0, 40),
    );
  }
  assert.equal(clientAddress(new Headers(), PEER, REAL_IP), PEER);
  // The named header only: X-Forwarded-For is ignored.
  assert.equal(
    clientAddress(new Headers({ "x-forwarded-for": "203.0.113.9" }), PEER, REAL_IP),
    PEER,
  );
  const cf: TrustProxy = { kind: "header", name: "cf-connecting-ip" };
  assert.equal(
    clientAddress(new Headers({ "CF-Connecting-IP": "198.51.100.3" }), PEER, cf),
    "198.51.100.3",
  );
});
