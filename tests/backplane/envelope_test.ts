import assert from "node:assert/strict";
import {
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
} from "../../lib/backplane/envelope.ts";
import {
  checkTarget,
  MAX_NAME_LENGTH,
  nameProblem,
  targetKey,
} from "../../lib/backplane/target.ts";
import { WebSocketError, WebSocketStatus } from "../../lib/errors.ts";

function roundTrip(envelope: Envelope): Envelope {
  const result = decodeEnvelope(encodeEnvelope(envelope));
  assert.ok(result.ok, result.ok ? "" : result.reason);
  return result.envelope;
}

Deno.test("envelopes of every target kind, text and binary, with and without an excluded socket, decode to what was encoded", () => {
  const samples: Envelope[] = [
    { origin: "p1", seq: 1, target: { kind: "all" }, data: "" },
    {
      origin: "ünïcødé-p",
      seq: 2 ** 53 - 1,
      target: { kind: "room", name: "lobby 😀" },
      except: "p1:17",
      data: "\ufeffhé😀",
    },
    {
      origin: "p2",
      seq: 2 ** 32 + 5,
      target: { kind: "socket", name: "p2:9" },
      data: new Uint8Array([0, 1, 2, 255]),
    },
    {
      origin: "p3",
      seq: 42,
      target: { kind: "user", name: "x".repeat(MAX_NAME_LENGTH) },
      except: "s",
      data: new Uint8Array(0),
    },
  ];
  for (const envelope of samples) {
    assert.deepEqual(roundTrip(envelope), envelope);
  }
});

Deno.test("presence announcements round-trip, and bad ones are reported", () => {
  const presence: Envelope = {
    origin: "p1",
    seq: 9,
    target: { kind: "room", name: "lobby" },
    data: "",
    presence: { members: 3, users: ["ada", "bob"], ask: true },
  };
  assert.deepEqual(roundTrip(presence), presence);
  // An excluded socket makes no sense for presence and is not encoded.
  assert.deepEqual(roundTrip({ ...presence, except: "s" }), presence);
  const payloadAt = 12 + 2 + 2 + 2 + "lobby".length;
  const withPayload = (json: string) => {
    const head = encodeEnvelope(presence).subarray(0, payloadAt);
    const body = new TextEncoder().encode(json);
    const bytes = new Uint8Array(head.length + body.length);
    bytes.set(head);
    bytes.set(body, head.length);
    return bytes;
  };
  const cases: [Uint8Array, RegExp][] = [
    [withPayload("{"), /not JSON/],
    [withPayload('{"m":-1,"u":[],"a":false}'), /member count/],
    [withPayload(JSON.stringify({ m: 1, u: ["a\nb"], a: false })), /user list/],
    [withPayload('{"m":1,"u":"ada","a":false}'), /user list/],
    [withPayload('{"m":1,"u":[]}'), /ask flag/],
    [withPayload("null"), /member count/],
  ];
  const forAll = encodeEnvelope({ ...presence, target: { kind: "all" } });
  forAll[2] = 4;
  cases.push([forAll, /for a room/]);
  for (const [bytes, reason] of cases) {
    const result = decodeEnvelope(bytes);
    assert.equal(result.ok, false);
    assert.match(result.ok ? "" : result.reason, reason);
  }
});

Deno.test("a decoded binary payload is a copy: changing the received bytes does not change it", () => {
  const bytes = encodeEnvelope({
    origin: "p",
    seq: 1,
    target: { kind: "all" },
    data: new Uint8Array([7, 7, 7]),
  });
  const result = decodeEnvelope(bytes);
  assert.ok(result.ok);
  bytes.fill(0);
  assert.deepEqual(result.envelope.data, new Uint8Array([7, 7, 7]));
});

Deno.test("malformed envelopes are reported with a reason, never thrown", () => {
  const good = encodeEnvelope({
    origin: "p",
    seq: 3,
    target: { kind: "room", name: "r" },
    except: "s1",
    data: "hi",
  });
  const patched = (at: number, value: number) => {
    const copy = good.slice();
    copy[at] = value;
    return copy;
  };
  const badUtf8Payload = good.slice();
  badUtf8Payload[badUtf8Payload.length - 1] = 0xff;
  const seqZero = good.slice();
  seqZero.fill(0, 4, 12);
  const cases: [unknown, RegExp][] = [
    [new TextEncoder().encode("hello world, not an envelope"), /magic/],
    [new Uint8Array(3), /shorter/],
    ["a string", /not bytes/],
    [{ origin: "p" }, /not bytes/],
    [undefined, /not bytes/],
    [patched(1, 9), /version/],
    [patched(2, 0x80), /flags/],
    [patched(3, 7), /target kind/],
    [patched(4, 0xff), /out of range/],
    [seqZero, /sequence number 0/],
    [good.subarray(0, 16), /cut short/],
    [patched(13, 0), /origin is empty/],
    [patched(14, 0xc3), /origin is not UTF-8/],
    [patched(17, 0x0a), /room name holds a control character/],
    [badUtf8Payload, /payload is not UTF-8/],
  ];
  for (const [input, reason] of cases) {
    const result = decodeEnvelope(input as Uint8Array);
    assert.equal(result.ok, false, `${String(input)} decoded`);
    assert.match(result.ok ? "" : result.reason, reason);
  }
  // 10,000 random byte strings, half of them behind a valid header: none
  // throws, and every one that decodes has checked names.
  for (let i = 0; i < 10_000; i++) {
    const bytes = crypto.getRandomValues(new Uint8Array(i % 64));
    if (i % 2 === 0 && bytes.length >= 4) bytes.set([0x53, 1, 0, 1]);
    const result = decodeEnvelope(bytes);
    if (result.ok) {
      assert.equal(nameProblem(result.envelope.origin), undefined);
    }
  }
});

Deno.test("names: bounded, well formed, no control characters; bad targets throw WebSocketError policyViolation", () => {
  assert.equal(nameProblem("lobby"), undefined);
  assert.equal(nameProblem("a:b/c d.é😀"), undefined);
  assert.equal(nameProblem("x".repeat(MAX_NAME_LENGTH)), undefined);
  assert.match(nameProblem("x".repeat(MAX_NAME_LENGTH + 1))!, /longer/);
  assert.match(nameProblem("")!, /empty/);
  assert.match(nameProblem("a\u0000b")!, /control/);
  assert.match(nameProblem("a\u0085b")!, /control/);
  assert.match(nameProblem("a\ud800")!, /surrogate/);
  assert.match(nameProblem(5 as unknown as string)!, /not a string/);
  for (
    const bad of [
      { kind: "room", name: "" },
      { kind: "user", name: "\n" },
      { kind: "planet", name: "earth" },
    ]
  ) {
    assert.throws(
      () => checkTarget(bad as never),
      (error) =>
        error instanceof WebSocketError &&
        error.status === WebSocketStatus.PolicyViolation,
    );
  }
  assert.equal(targetKey({ kind: "all" }), "all");
  assert.equal(targetKey({ kind: "room", name: "a:b" }), "room:a:b");
});
