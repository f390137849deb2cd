import assert from "node:assert/strict";
import zlib from "node:zlib";
import {
  PerMessageDeflate,
  type PerMessageDeflateOptions,
  ZLIB_CHUNK_SIZE,
  ZlibLimiter,
  zlibLimiter,
} from "../../lib/engine/deflate.ts";
import { WebSocketError, WebSocketStatus } from "../../lib/errors.ts";
import type {
  DeflateParams,
  WindowBits,
} from "../../lib/protocol/deflate_negotiation.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const TRAILER = [0x00, 0x00, 0xff, 0xff];
const MiB = 1024 * 1024;

function params(overrides: Partial<DeflateParams> = {}): DeflateParams {
  return {
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    ...overrides,
  };
}

function pair(
  agreed: DeflateParams = params(),
  options: PerMessageDeflateOptions = {},
) {
  const server = new PerMessageDeflate(agreed, "server", options);
  const client = new PerMessageDeflate(agreed, "client", options);
  return {
    server,
    client,
    close() {
      server.close();
      client.close();
    },
  };
}

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.split(" "), (byte) => parseInt(byte, 16));
}

function withTrailer(payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(payload.byteLength + 4);
  bytes.set(payload);
  bytes.set(TRAILER, payload.byteLength);
  return bytes;
}

/** A fresh zlib inflater, as any peer would have: no BFINAL, so end at the sync flush. */
function inflateFresh(
  payload: Uint8Array,
  options: zlib.ZlibOptions = {},
): Uint8Array {
  return zlib.inflateRawSync(withTrailer(payload), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
    ...options,
  });
}

/** Text-like bytes that compress but not trivially, different per seed. */
function sample(size: number, seed: number): Uint8Array {
  const words = [
    "socket",
    "frame",
    "deflate",
    "window",
    "message",
    "context",
    "takeover",
    "server",
    "client",
    "payload",
    '{"id":',
    "},",
    "\n",
  ];
  let state = seed >>> 0 || 1;
  const random = () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state >>> 8;
  };
  const parts: string[] = [];
  let length = 0;
  while (length < size) {
    const word = random() % 5 === 0
      ? String(random() % 100000)
      : words[random() % words.length]!;
    parts.push(word);
    length += word.length + 1;
  }
  return encoder.encode(parts.join(" ") + " ").subarray(0, size);
}

function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string) {
  assert.equal(actual.byteLength, expected.byteLength, `${what}: length`);
  // Compare in one go; deepEqual on MiB arrays is slow.
  assert.ok(
    Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
      Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
    ),
    `${what}: content`,
  );
}

async function assertRejectsWith(
  promise: Promise<unknown>,
  status: string,
  code?: number,
): Promise<WebSocketError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected a rejection with status ${status}`),
    (error) => caught = error,
  );
  assert.ok(caught instanceof WebSocketError, String(caught));
  assert.equal(caught.status, status, caught.message);
  if (code !== undefined) assert.equal(caught.code, code);
  return caught;
}

// --- RFC 7692 section 7.2.3 examples ---------------------------------------

Deno.test('compress and decompress "Hello" as in RFC 7692 7.2.3.1 and 7.2.3.2', async () => {
  const { server, client, close } = pair();
  const hello = encoder.encode("Hello");
  const first = await server.compress(hello);
  assert.deepEqual(first, hex("f2 48 cd c9 c9 07 00"));
  // Sharing the LZ77 window: the second message refers to the first.
  const second = await server.compress(hello);
  assert.deepEqual(second, hex("f2 00 11 00 00"));
  assert.equal(decoder.decode(await client.decompress(first, true)), "Hello");
  assert.equal(decoder.decode(await client.decompress(second, true)), "Hello");
  close();
});

Deno.test('decompress reads RFC 7692\'s other encodings of "Hello"', async () => {
  const examples = [
    "f2 48 cd c9 c9 07 00", // 7.2.3.1
    "00 05 00 fa ff 48 65 6c 6c 6f 00", // 7.2.3.3: a stored block
    "f3 48 cd c9 c9 07 00 00", // 7.2.3.4: BFINAL set
    "f2 48 05 00 00 00 ff ff ca c9 c9 07 00", // 7.2.3.5: two blocks
  ];
  for (const example of examples) {
    const { client, close } = pair();
    const output = await client.decompress(hex(example), true);
    assert.equal(decoder.decode(output), "Hello", example);
    close();
  }
});

Deno.test("decompress takes a fragmented message piece by piece (RFC 7692 7.2.1)", async () => {
  const { client, close } = pair();
  const first = await client.decompress(hex("f2 48 cd"), false);
  const second = await client.decompress(hex("c9 c9 07 00"), true);
  assert.equal(decoder.decode(first) + decoder.decode(second), "Hello");
  close();
});

// --- the 00 00 ff ff trailer -----------------------------------------------

Deno.test("the final piece drops 00 00 ff ff, other pieces keep it", async () => {
  const { server, client, close } = pair();
  const message = sample(5000, 1);
  const whole = await server.compress(message);
  assert.notDeepEqual([...whole.subarray(-4)], TRAILER);
  // The same content in three sync-flushed pieces.
  const pieces = [
    await server.compress(message.subarray(0, 1000), false),
    await server.compress(message.subarray(1000, 4000), false),
    await server.compress(message.subarray(4000), true),
  ];
  assert.deepEqual([...pieces[0]!.subarray(-4)], TRAILER);
  assert.deepEqual([...pieces[1]!.subarray(-4)], TRAILER);
  assert.notDeepEqual([...pieces[2]!.subarray(-4)], TRAILER);
  assertBytes(await client.decompress(whole, true), message, "whole");
  const parts = [
    await client.decompress(pieces[0]!, false),
    await client.decompress(pieces[1]!, false),
    await client.decompress(pieces[2]!, true),
  ];
  assertBytes(Buffer.concat(parts), message, "pieces");
  close();
});

Deno.test("compress output inflates with a fresh zlib.inflateRawSync once the trailer is back", async () => {
  const { server, close } = pair();
  const message = sample(70_000, 2);
  const payload = await server.compress(message);
  assertBytes(inflateFresh(payload), message, "inflateRawSync");
  // Without the trailer the stream is cut inside its last block's end.
  assert.throws(() => zlib.inflateRawSync(payload), /unexpected end of file/);
  close();
});

Deno.test("decompress appends the trailer itself: payloads from zlib's sync flush minus 00 00 ff ff", async () => {
  const { client, close } = pair();
  const message = sample(3000, 3);
  const flushed = zlib.deflateRawSync(message, {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  assert.deepEqual([...flushed.subarray(-4)], TRAILER);
  const output = await client.decompress(flushed.subarray(0, -4), true);
  assertBytes(output, message, "inflated");
  close();
});

Deno.test("an empty message is the single byte 00, and inflates to nothing", async () => {
  const { server, client, close } = pair();
  const empty = await server.compress(new Uint8Array(0));
  assert.deepEqual(empty, Uint8Array.of(0));
  assert.equal((await client.decompress(empty, true)).byteLength, 0);
  // Between real messages, with context takeover, nothing is disturbed.
  const message = sample(2000, 4);
  for (let round = 0; round < 3; round++) {
    const payload = await server.compress(message);
    assertBytes(await client.decompress(payload, true), message, "message");
    const nothing = await server.compress(new Uint8Array(0));
    assert.equal((await client.decompress(nothing, true)).byteLength, 0);
  }
  // An empty compressed payload (no bytes at all) is taken as empty too.
  assert.equal(
    (await client.decompress(new Uint8Array(0), true)).byteLength,
    0,
  );
  const after = await server.compress(message);
  assertBytes(await client.decompress(after, true), message, "after");
  close();
});

Deno.test("an empty final piece ends a fragmented compressed message", async () => {
  const { server, client, close } = pair();
  const message = sample(4000, 5);
  const first = await server.compress(message, false);
  const last = await server.compress(new Uint8Array(0), true);
  assert.deepEqual(last, Uint8Array.of(0));
  const output = Buffer.concat([
    await client.decompress(first, false),
    await client.decompress(last, true),
  ]);
  assertBytes(output, message, "message");
  // The next message still shares the window.
  const next = await server.compress(message);
  assertBytes(await client.decompress(next, true), message, "next");
  close();
});

// --- round trips -------------------------------------------------------------

const SIZES = [16, 1000, 64 * 1024 + 7, MiB];
const TAKEOVERS = [
  { serverNoContextTakeover: false, clientNoContextTakeover: false },
  { serverNoContextTakeover: true, clientNoContextTakeover: false },
  { serverNoContextTakeover: false, clientNoContextTakeover: true },
  { serverNoContextTakeover: true, clientNoContextTakeover: true },
];

for (const bits of [8, 9, 10, 11, 12, 13, 14, 15] as WindowBits[]) {
  Deno.test(`round trips with window bits ${bits}, every takeover combination, 16 B to 1 MiB`, async () => {
    for (const takeover of TAKEOVERS) {
      // Different windows each way, to catch a swapped side.
      const agreed = params({
        serverMaxWindowBits: bits,
        clientMaxWindowBits: bits === 15 ? 9 : (bits + 1) as WindowBits,
        ...takeover,
      });
      const { server, client, close } = pair(agreed);
      try {
        for (const size of SIZES) {
          for (
            const [sender, receiver, noTakeover] of [
              [server, client, takeover.serverNoContextTakeover],
              [client, server, takeover.clientNoContextTakeover],
            ] as const
          ) {
            const what = `${sender.role} ${size} B ${JSON.stringify(agreed)}`;
            const message = sample(size, size + bits);
            // Twice: the second message may use the first's window.
            for (let round = 0; round < 2; round++) {
              const payload = await sender.compress(message);
              assertBytes(
                await receiver.decompress(payload, true),
                message,
                `${what} round ${round}`,
              );
              if (noTakeover || (size === SIZES[0] && round === 0)) {
                // Self-contained: a fresh inflater with the agreed window reads it.
                const window = sender.role === "server"
                  ? agreed.serverMaxWindowBits
                  : agreed.clientMaxWindowBits;
                assertBytes(
                  inflateFresh(payload, { windowBits: window }),
                  message,
                  `${what} round ${round} fresh`,
                );
              }
            }
          }
        }
      } finally {
        close();
      }
    }
    assert.equal(PerMessageDeflate.liveZlibHandles, 0);
  });
}

Deno.test("window bits 8: deflated with 9, but no match reaches past 256 bytes", async () => {
  // A 300-byte random unit repeated: a 512-byte window would match it at
  // distance 300, which a 256-byte window cannot resolve.
  let state = 1;
  const unit = Uint8Array.from(
    { length: 300 },
    () => (state = (state * 1103515245 + 12345) >>> 0) >>> 24,
  );
  const message = new Uint8Array(300 * 50);
  for (let i = 0; i < 50; i++) message.set(unit, i * 300);
  // Small output chunks make the inflater rely on its 256-byte window.
  const strict = { windowBits: 8, chunkSize: 64 };
  // Control: with a 32 KiB window, zlib's output needs a bigger window.
  assert.throws(
    () => zlib.inflateRawSync(zlib.deflateRawSync(message), strict),
    /invalid distance too far back/,
  );
  const { server, client, close } = pair(
    params({ serverMaxWindowBits: 8, clientMaxWindowBits: 8 }),
  );
  const payload = await server.compress(message);
  assertBytes(inflateFresh(payload, strict), message, "8-bit inflate");
  assertBytes(await client.decompress(payload, true), message, "codec");
  close();
});

// --- context takeover --------------------------------------------------------

Deno.test("context takeover shrinks a repeated message; without it both compress alike", async () => {
  const message = sample(4096, 6);
  const sizes = async (agreed: DeflateParams) => {
    const { server, client, close } = pair(agreed);
    const result: number[] = [];
    for (let round = 0; round < 3; round++) {
      const payload = await server.compress(message);
      result.push(payload.byteLength);
      assertBytes(await client.decompress(payload, true), message, "inflate");
    }
    close();
    return result;
  };
  const [first, second, third] = await sizes(params());
  assert.ok(second! * 10 < first!, `takeover: ${first} then ${second}`);
  assert.ok(third! * 10 < first!, `takeover: ${first} then ${third}`);
  const without = await sizes(params({ serverNoContextTakeover: true }));
  assert.equal(without[1], without[0]);
  assert.equal(without[2], without[0]);
  assert.equal(without[0], first);
});

Deno.test("a message ended with a final DEFLATE block starts a fresh context for the next", async () => {
  const { client, close } = pair();
  const first = sample(3000, 7);
  const second = sample(3000, 8);
  // Z_FINISH: BFINAL=1 (RFC 7692 7.2.3.4); the peer's context ends there.
  const finished = zlib.deflateRawSync(first);
  assertBytes(await client.decompress(finished, true), first, "first");
  const flushed = zlib.deflateRawSync(second, {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  assertBytes(
    await client.decompress(flushed.subarray(0, -4), true),
    second,
    "second",
  );
  assert.equal(PerMessageDeflate.liveZlibHandles, 1);
  close();
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
});

// --- streaming decompression ---------------------------------------------------

Deno.test("decompress handles a message split anywhere, calls issued without waiting", async () => {
  const { server, client, close } = pair();
  for (let round = 0; round < 3; round++) {
    const message = sample(300_000, 10 + round);
    const payload = await server.compress(message);
    const cuts = [0, 1, 2, 1000, 1001, 50_000, payload.byteLength - 1]
      .filter((cut) => cut <= payload.byteLength);
    cuts.push(payload.byteLength);
    const pending: Promise<Uint8Array>[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      pending.push(
        client.decompress(
          payload.subarray(cuts[i]!, cuts[i + 1]!),
          i + 2 === cuts.length,
        ),
      );
    }
    const parts = await Promise.all(pending);
    assertBytes(Buffer.concat(parts), message, `round ${round}`);
  }
  close();
});

Deno.test("decompress takes a list of pieces and copies its input at once", async () => {
  const { server, client, close } = pair();
  const message = sample(20_000, 12);
  const payload = await server.compress(message);
  const copy = payload.slice();
  const pieces = [
    copy.subarray(0, 10),
    copy.subarray(10, 500),
    copy.subarray(500),
  ];
  const result = client.decompress(pieces, true);
  copy.fill(0xaa); // The parser may reuse its buffer right after the event.
  assertBytes(await result, message, "pieces");
  close();
});

Deno.test("compress calls issued without waiting come out in call order", async () => {
  const { server, client, close } = pair();
  const messages = Array.from({ length: 8 }, (_, i) => sample(10_000 + i, i));
  const payloads = await Promise.all(messages.map((m) => server.compress(m)));
  for (const [i, payload] of payloads.entries()) {
    assertBytes(await client.decompress(payload, true), messages[i]!, `#${i}`);
  }
  close();
});

// --- limits and bad input ------------------------------------------------------

/** Counts the bytes every zlib inflater produces while `body` runs. */
async function countInflated(body: () => Promise<void>): Promise<number> {
  const prototype = zlib.InflateRaw.prototype as unknown as {
    push(chunk: Uint8Array | null, encoding?: string): boolean;
  };
  const inherited = prototype.push;
  let produced = 0;
  prototype.push = function (chunk, encoding) {
    if (chunk) produced += chunk.byteLength;
    return inherited.call(this, chunk, encoding);
  };
  try {
    await body();
  } finally {
    delete (prototype as { push?: unknown }).push;
  }
  return produced;
}

Deno.test("a deflate bomb (10 MiB of zeros in ~10 KiB) stops at the 1 MiB limit with 1009", async () => {
  const bomb = zlib.deflateRawSync(new Uint8Array(10 * MiB), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  }).subarray(0, -4);
  assert.ok(bomb.byteLength < 16 * 1024, `bomb of ${bomb.byteLength} bytes`);
  const codec = new PerMessageDeflate(params(), "client", {
    maxDecompressedSize: MiB,
  });
  const produced = await countInflated(async () => {
    await assertRejectsWith(
      codec.decompress(bomb, true),
      WebSocketStatus.MessageTooBig,
      1009,
    );
  });
  // zlib stopped within one output chunk past the limit, not at 10 MiB.
  assert.ok(produced <= MiB + ZLIB_CHUNK_SIZE, `inflated ${produced} bytes`);
  // The inflater is freed at once; the codec refuses further input.
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
  await assertRejectsWith(
    codec.decompress(hex("f2 48 cd c9 c9 07 00"), true),
    WebSocketStatus.MessageTooBig,
    1009,
  );
  codec.close();
});

Deno.test("a 1 GiB bomb in 1 MiB does not make memory follow it", async () => {
  // A zero byte, then copies of one block that inflates to 1 MiB of zeros.
  const deflate = zlib.createDeflateRaw({ flush: zlib.constants.Z_SYNC_FLUSH });
  const chunks: Uint8Array[] = [];
  deflate.on("data", (chunk: Uint8Array) => chunks.push(chunk));
  const write = (bytes: Uint8Array) =>
    new Promise<Uint8Array>((resolve) =>
      deflate.write(bytes, () => resolve(Buffer.concat(chunks.splice(0))))
    );
  const prefix = await write(new Uint8Array(1));
  await write(new Uint8Array(MiB));
  const block = await write(new Uint8Array(MiB)); // Only refers to zeros.
  deflate.close();
  const copies = 1024;
  const bomb = new Uint8Array(prefix.byteLength + block.byteLength * copies);
  bomb.set(prefix);
  for (let i = 0; i < copies; i++) {
    bomb.set(block, prefix.byteLength + i * block.byteLength);
  }
  assert.ok(bomb.byteLength < 2 * MiB);

  const codec = new PerMessageDeflate(params(), "server", {
    maxDecompressedSize: MiB,
  });
  const before = Deno.memoryUsage().rss;
  const produced = await countInflated(async () => {
    // Fed as many frames, as a peer would send it.
    const pending: Promise<Uint8Array>[] = [];
    const step = 64 * 1024;
    for (let offset = 0; offset < bomb.byteLength; offset += step) {
      const end = Math.min(offset + step, bomb.byteLength);
      pending.push(
        codec.decompress(bomb.subarray(offset, end), end === bomb.byteLength),
      );
    }
    const results = await Promise.allSettled(pending);
    // The first 64 KiB inflate to 64 MiB: from that piece on, every piece
    // fails with 1009.
    const firstFailure = results.findIndex((r) => r.status === "rejected");
    assert.equal(firstFailure, 0);
    for (const result of results.slice(firstFailure)) {
      assert.equal(result.status, "rejected");
      const reason = (result as PromiseRejectedResult).reason;
      assert.ok(reason instanceof WebSocketError);
      assert.equal(reason.code, 1009);
    }
  });
  const grown = Deno.memoryUsage().rss - before;
  assert.ok(produced <= MiB + ZLIB_CHUNK_SIZE, `inflated ${produced} bytes`);
  assert.ok(grown < 64 * MiB, `RSS grew by ${grown} bytes`);
  codec.close();
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
});

Deno.test("the decompressed-size limit counts a whole fragmented message and resets after it", async () => {
  const { server, close } = pair();
  const limited = new PerMessageDeflate(params(), "client", {
    maxDecompressedSize: 10_000,
  });
  // Exactly at the limit is fine, message after message.
  const exact = sample(10_000, 20);
  for (let round = 0; round < 3; round++) {
    const payload = await server.compress(exact);
    assertBytes(await limited.decompress(payload, true), exact, "exact");
  }
  // Over it across fragments fails, although each fragment is small.
  const parts = [sample(6000, 21), sample(6000, 22)];
  const first = await server.compress(parts[0]!, false);
  const second = await server.compress(parts[1]!, true);
  assert.equal((await limited.decompress(first, false)).byteLength, 6000);
  await assertRejectsWith(
    limited.decompress(second, true),
    WebSocketStatus.MessageTooBig,
    1009,
  );
  limited.close();
  close();
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
});

Deno.test("invalid compressed data fails with 1007 and the codec stays failed", async () => {
  const { client, close } = pair();
  // BTYPE 11 is reserved.
  await assertRejectsWith(
    client.decompress(hex("ff ff ff ff"), true),
    WebSocketStatus.InvalidPayload,
    1007,
  );
  await assertRejectsWith(
    client.decompress(hex("f2 48 cd c9 c9 07 00"), true),
    WebSocketStatus.InvalidPayload,
    1007,
  );
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
  close();
});

Deno.test("a message inflated with a window smaller than the peer used fails with 1007", async () => {
  const sender = new PerMessageDeflate(params(), "server");
  const receiver = new PerMessageDeflate(
    params({ serverMaxWindowBits: 9 }),
    "client",
  );
  const unit = sample(2000, 30);
  const message = new Uint8Array(20_000);
  for (let i = 0; i < 10; i++) message.set(unit, i * 2000);
  const payload = await sender.compress(message);
  // Fed in small pieces so the inflater must look back through its window.
  let failure: unknown;
  for (let offset = 0; offset < payload.byteLength; offset += 8) {
    const end = Math.min(offset + 8, payload.byteLength);
    try {
      await receiver.decompress(
        payload.subarray(offset, end),
        end === payload.byteLength,
      );
    } catch (error) {
      failure = error;
      break;
    }
  }
  assert.ok(failure instanceof WebSocketError);
  assert.equal(failure.code, 1007);
  sender.close();
  receiver.close();
});

// --- resources -------------------------------------------------------------------

Deno.test("every zlib handle is freed on close", async () => {
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
  const codecs = Array.from({ length: 5 }, () => pair());
  // Handles are created on first use only.
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
  for (const { server, client } of codecs) {
    await client.decompress(await server.compress(sample(5000, 40)), true);
    await server.decompress(await client.compress(sample(100, 41)), true);
  }
  // A deflater and an inflater on each side.
  assert.equal(PerMessageDeflate.liveZlibHandles, 5 * 4);
  for (const { close } of codecs) close();
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
  // close() is idempotent.
  for (const { close } of codecs) close();
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
});

Deno.test("close() rejects operations in progress and queued, and later calls", async () => {
  const { server, client, close } = pair();
  const message = sample(MiB, 50);
  const inProgress = server.compress(message);
  const queued = server.compress(message);
  const inflating = client.decompress(hex("f2 48 cd"), false);
  close();
  await assertRejectsWith(inProgress, WebSocketStatus.InvalidState);
  await assertRejectsWith(queued, WebSocketStatus.InvalidState);
  await assertRejectsWith(inflating, WebSocketStatus.InvalidState);
  await assertRejectsWith(
    server.compress(message),
    WebSocketStatus.InvalidState,
  );
  await assertRejectsWith(
    client.decompress(message, true),
    WebSocketStatus.InvalidState,
  );
  assert.equal(server.closed, true);
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
  assert.equal(zlibLimiter.active, 0);
});

// --- threshold and options ---------------------------------------------------------

Deno.test("shouldCompress follows the threshold", () => {
  const codec = new PerMessageDeflate(params(), "server");
  assert.equal(codec.threshold, 0);
  assert.equal(codec.shouldCompress(0), true);
  codec.close();
  const thresholded = new PerMessageDeflate(params(), "server", {
    threshold: 1024,
  });
  assert.equal(thresholded.shouldCompress(1023), false);
  assert.equal(thresholded.shouldCompress(1024), true);
  thresholded.close();
});

Deno.test("the constructor rejects bad parameters and options at once", () => {
  const bad: [DeflateParams, string, PerMessageDeflateOptions][] = [
    [params({ serverMaxWindowBits: 7 as WindowBits }), "server", {}],
    [params({ clientMaxWindowBits: 16 as WindowBits }), "client", {}],
    [params(), "server", { threshold: -1 }],
    [params(), "server", { maxDecompressedSize: 1.5 }],
    [params(), "server", { level: 10 }],
    [params(), "server", { memLevel: 0 }],
  ];
  for (const [agreed, role, options] of bad) {
    assert.throws(
      () => new PerMessageDeflate(agreed, role as "server", options),
      RangeError,
    );
  }
  assert.throws(
    () => new PerMessageDeflate(params(), "peer" as "server"),
    TypeError,
  );
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
});

// --- concurrency -------------------------------------------------------------------

Deno.test("ZlibLimiter runs at most `limit` jobs at once, in FIFO order", async () => {
  const limiter = new ZlibLimiter(3);
  const started: number[] = [];
  const gates: (() => void)[] = [];
  let running = 0;
  let peak = 0;
  const jobs = Array.from({ length: 10 }, (_, i) =>
    limiter.run(async () => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      return i;
    }));
  await Promise.resolve();
  assert.deepEqual(started, [0, 1, 2]);
  assert.equal(limiter.active, 3);
  assert.equal(limiter.pending, 7);
  while (started.length < 10 || gates.length > 0) {
    gates.shift()?.();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.deepEqual(await Promise.all(jobs), [...Array(10).keys()]);
  assert.deepEqual(started, [...Array(10).keys()]);
  assert.equal(peak, 3);
  assert.equal(limiter.active, 0);
  assert.equal(limiter.pending, 0);
  // A failing job frees its slot too.
  await assert.rejects(limiter.run(() => Promise.reject(new Error("boom"))));
  assert.equal(limiter.active, 0);
  assert.throws(() => new ZlibLimiter(0), RangeError);
  assert.throws(() => limiter.limit = 1.5, RangeError);
});

/** The most zlib writes in flight at once while `body` runs. */
async function peakZlibWrites(body: () => Promise<void>): Promise<number> {
  const prototypes = [zlib.DeflateRaw.prototype, zlib.InflateRaw.prototype];
  // Both inherit the same stream write().
  const inherited = zlib.DeflateRaw.prototype.write as (
    this: unknown,
    chunk: Uint8Array,
    callback: (error?: Error | null) => void,
  ) => boolean;
  let inFlight = 0;
  let peak = 0;
  for (const prototype of prototypes) {
    (prototype as { write: unknown }).write = function (
      this: unknown,
      chunk: Uint8Array,
      callback: (error?: Error | null) => void,
    ) {
      inFlight++;
      peak = Math.max(peak, inFlight);
      return inherited.call(this, chunk, (error?: Error | null) => {
        inFlight--;
        callback(error);
      });
    };
  }
  try {
    await body();
  } finally {
    for (const prototype of prototypes) {
      delete (prototype as { write?: unknown }).write;
    }
  }
  return peak;
}

Deno.test("zlib work across connections respects the concurrency bound", async () => {
  const run = async (limiter: ZlibLimiter) => {
    const pairs = Array.from({ length: 12 }, () => pair(params(), { limiter }));
    const message = sample(256 * 1024, 60);
    const peak = await peakZlibWrites(async () => {
      await Promise.all(pairs.map(async ({ server, client }) => {
        const payload = await server.compress(message);
        const echoed = await client.decompress(payload, true);
        assertBytes(echoed, message, "round trip");
      }));
    });
    for (const { close } of pairs) close();
    return peak;
  };
  // Control: with room for all, they do overlap.
  assert.ok(await run(new ZlibLimiter(100)) > 3);
  assert.equal(await run(new ZlibLimiter(3)), 3);
  // The shared default.
  assert.equal(zlibLimiter.limit, 10);
  assert.ok(await run(zlibLimiter) <= 10);
  assert.equal(PerMessageDeflate.liveZlibHandles, 0);
});
