/**
 * Autobahn section 13 style, permessage-deflate parameters (RFC 7692
 * section 7), against the echo with compression on as `--compression` has
 * it (`dangerouslyEnableCompression: true`), and some other settings.
 *
 * 13.1, every offer of server_max_window_bits (absent, 8 to 15) ×
 * client_max_window_bits (absent, without a value, 8 to 15) ×
 * server_no_context_takeover × client_no_context_takeover: the answer must
 * follow section 7 (and socketry's choices, where the RFC leaves one), and
 * a short exchange must honour it. The peer deflates with the agreed client
 * window, afresh per message with client_no_context_takeover, keeping its
 * context otherwise, so the server's inflater must keep its own; the
 * server's echoes must inflate within the agreed server window, each from
 * an empty window with server_no_context_takeover.
 *
 * 13.2 the server's own settings; 13.3 several offers (the first the
 * server can accept wins); 13.4 offers the server must decline (the
 * connection opens uncompressed); 13.5 RSV bits (1002); 13.6 bad compressed
 * data (1007, 1009); 13.7 unusual but valid compressed data.
 */

import assert from "node:assert/strict";
import { constants, deflateRawSync } from "node:zlib";
import { type CaseOptions, conformance } from "./echo_server.ts";
import {
  assertDeflateFrames,
  compressedFrames,
  deflateConformance,
  expectCompressed,
  fixedHuffman,
  imageBinary,
  jsonText,
  type Offer,
  offerHeader,
  type PeerDeflate,
  piecewiseFrames,
  proseText,
  randomBinary,
  readAnswer,
  sendCompressed,
  type Token,
} from "./deflate_peer.ts";
import { bytes, encodeFrame, Op, type Peer, repeat } from "./peer.ts";
import { StrictInflater } from "./strict_inflate.ts";
import { concat, hex } from "../helpers/bytes.ts";

const KiB = 1024;
const WINDOW_BITS = [8, 9, 10, 11, 12, 13, 14, 15] as const;

// ---- helpers -----------------------------------------------------------------

/**
 * Checks the answer to `offer` against what RFC 7692 section 7 requires of
 * any server, then against `expected`, the exact parameters socketry
 * answers with (where the RFC lets the server choose).
 */
function assertAnswer(
  peer: Peer,
  offer: Offer,
  expected: Record<string, string | true>,
): void {
  const answer = peer.extensions!;
  const { params } = readAnswer(answer, offer);
  // 7.1.1.1: a server accepting server_no_context_takeover must say so.
  if (offer.serverNoContextTakeover) {
    assert.ok(params.has("server_no_context_takeover"), answer);
  }
  // 7.1.2.1: accepted with the same or a smaller value.
  if (offer.serverMaxWindowBits !== undefined) {
    const value = params.get("server_max_window_bits");
    assert.ok(
      typeof value === "string" &&
        Number(value) <= offer.serverMaxWindowBits,
      `server_max_window_bits=${offer.serverMaxWindowBits} was offered: "${answer}"`,
    );
  }
  // 7.1.2.2: never without the client's consent, never above its value.
  if (offer.clientMaxWindowBits === undefined) {
    assert.ok(!params.has("client_max_window_bits"), answer);
  } else if (typeof offer.clientMaxWindowBits === "number") {
    const value = params.get("client_max_window_bits");
    assert.ok(
      value === undefined ||
        Number(value) <= offer.clientMaxWindowBits,
      answer,
    );
  }
  assert.deepEqual(Object.fromEntries(params), expected, `answer "${answer}"`);
}

/**
 * What the echo with default settings answers: every flag offered echoed
 * (client_no_context_takeover is optional in the answer; socketry repeats
 * it), server_max_window_bits as offered, client_max_window_bits only with
 * the offered value (without one, the client keeps 15).
 */
function defaultAnswer(offer: Offer): Record<string, string | true> {
  const answer: Record<string, string | true> = {};
  if (offer.serverNoContextTakeover) answer.server_no_context_takeover = true;
  if (offer.clientNoContextTakeover) answer.client_no_context_takeover = true;
  if (offer.serverMaxWindowBits !== undefined) {
    answer.server_max_window_bits = String(offer.serverMaxWindowBits);
  }
  if (typeof offer.clientMaxWindowBits === "number") {
    answer.client_max_window_bits = String(offer.clientMaxWindowBits);
  }
  return answer;
}

const SHORT = jsonText(KiB, 7);
// Over 32 KiB, so that distances span whole windows.
const LONG = imageBinary(40 * KiB, 8);
// Each second message starts with the last 200 bytes of the one before:
// within reach of every window (zlib's 9-bit one reaches 250 bytes back).
const SHORT_AGAIN = SHORT.subarray(-200);
const LONG_AGAIN = concat([LONG.subarray(-200), LONG]);

/**
 * The short exchange of a 13 case: a 1 KiB text, 200 bytes of its end, a
 * 40 KiB binary, 200 bytes of its end and itself again, the binaries in
 * 8 KiB frames, all pipelined. The peer checks its own payloads against the
 * agreed client window, so that what it sends is valid; with context
 * takeover each second message refers back into the one before. The
 * echoes must inflate within the agreed server window; with context
 * takeover, socketry's second messages refer back too (the RFC lets a
 * server reset anyway: this checks socketry's ratio, not conformance).
 */
async function exchange(peer: Peer, deflate: PeerDeflate): Promise<void> {
  const { agreed } = deflate;
  const own = new StrictInflater(
    agreed.clientMaxWindowBits,
    agreed.clientNoContextTakeover,
  );
  const messages = [
    { data: SHORT, type: "text" },
    { data: SHORT_AGAIN, type: "text" },
    { data: LONG, type: "binary" },
    { data: LONG_AGAIN, type: "binary" },
  ] as const;
  for (const [index, { data, type }] of messages.entries()) {
    const payload = await deflate.compressWhole(data);
    const check = own.inflate(payload);
    assert.deepEqual(check.data, data, "the peer's own deflate round-trips");
    if (index % 2 === 1) {
      assert.equal(
        check.maxDistanceIntoHistory > 0,
        !agreed.clientNoContextTakeover,
        "the peer refers back into its previous message iff it may",
      );
    }
    await peer.sendFrames(
      compressedFrames(type === "text" ? Op.Text : Op.Binary, payload, {
        frameSize: 8 * KiB,
      }),
    );
  }
  for (const [index, { data, type }] of messages.entries()) {
    const inflated = await expectCompressed(peer, deflate, data, { type });
    if (index % 2 === 1 && !agreed.serverNoContextTakeover) {
      assert.ok(
        inflated.maxDistanceIntoHistory > 0,
        "socketry keeps its compression context between messages",
      );
    }
  }
  assertDeflateFrames(peer.rawFrames().frames);
  await peer.closeHandshake(1000);
}

/**
 * A case where the server must open the connection uncompressed: no
 * answer, plain echoes, and then RSV1 is a protocol error.
 */
function declined(
  name: string,
  offer: string | readonly string[],
  server: CaseOptions["server"] = {},
): void {
  conformance(
    name,
    async (peer) => {
      assert.equal(peer.extensions, undefined, "no extension agreed");
      await peer.sendText("Hello, world!");
      await peer.expectMessage("Hello, world!");
      await peer.sendFrame({
        opcode: Op.Text,
        payload: deflateRawSync(bytes("Hello, world!"), {
          finishFlush: constants.Z_SYNC_FLUSH,
        }).subarray(0, -4),
        rsv: 4,
      });
      await peer.expectFailure(1002);
    },
    {
      server: { dangerouslyEnableCompression: true, ...server },
      connect: { extensions: offer },
    },
  );
}

// ---- 13.1 every offer against the default settings --------------------------

{
  let number = 0;
  for (const serverBits of [undefined, ...WINDOW_BITS]) {
    for (const clientBits of [undefined, true, ...WINDOW_BITS] as const) {
      for (const serverNoContextTakeover of [false, true]) {
        for (const clientNoContextTakeover of [false, true]) {
          const offer: Offer = {
            ...(serverBits === undefined
              ? {}
              : { serverMaxWindowBits: serverBits }),
            ...(clientBits === undefined
              ? {}
              : { clientMaxWindowBits: clientBits }),
            serverNoContextTakeover,
            clientNoContextTakeover,
          };
          const header = offerHeader(offer);
          number++;
          deflateConformance(
            `13.1.${number} offer "${header}": answered per RFC 7692, honoured both ways`,
            async (peer, deflate) => {
              assertAnswer(peer, offer, defaultAnswer(offer));
              assert.equal(
                deflate.agreed.serverMaxWindowBits,
                serverBits ?? 15,
              );
              assert.equal(
                deflate.agreed.clientMaxWindowBits,
                typeof clientBits === "number" ? clientBits : 15,
              );
              await exchange(peer, deflate);
            },
            { offer: header, offered: offer },
          );
        }
      }
    }
  }
}

// ---- 13.2 the server's settings ----------------------------------------------

for (
  const [id, settings, offer, expected] of [
    [
      "13.2.1",
      { serverMaxWindowBits: 10 },
      { clientMaxWindowBits: true },
      { server_max_window_bits: "10" },
    ],
    [
      "13.2.2",
      { serverMaxWindowBits: 10 },
      { serverMaxWindowBits: 12 },
      { server_max_window_bits: "10" },
    ],
    [
      "13.2.3",
      { serverMaxWindowBits: 10 },
      { serverMaxWindowBits: 9 },
      { server_max_window_bits: "9" },
    ],
    [
      "13.2.4",
      { serverMaxWindowBits: 8 },
      {},
      { server_max_window_bits: "8" },
    ],
    [
      "13.2.5",
      { disableServerContextTakeover: true },
      { clientMaxWindowBits: true },
      { server_no_context_takeover: true },
    ],
    [
      "13.2.6",
      { clientMaxWindowBits: 9 },
      { clientMaxWindowBits: true },
      { client_max_window_bits: "9" },
    ],
    [
      "13.2.7",
      { clientMaxWindowBits: 9 },
      { clientMaxWindowBits: 12 },
      { client_max_window_bits: "9" },
    ],
    [
      "13.2.8",
      { clientMaxWindowBits: 9 },
      { clientMaxWindowBits: 8 },
      { client_max_window_bits: "8" },
    ],
    [
      "13.2.9",
      {
        serverMaxWindowBits: 11,
        clientMaxWindowBits: 10,
        disableServerContextTakeover: true,
      },
      { clientMaxWindowBits: true, clientNoContextTakeover: true },
      {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: "11",
        client_max_window_bits: "10",
      },
    ],
  ] as const
) {
  const header = offerHeader(offer);
  deflateConformance(
    `${id} settings ${JSON.stringify(settings)}, offer "${header}": answer ${
      JSON.stringify(expected)
    }, honoured`,
    async (peer, deflate) => {
      assertAnswer(peer, offer, expected);
      await exchange(peer, deflate);
    },
    {
      offer: header,
      offered: offer,
      server: { dangerouslyEnableCompression: settings },
    },
  );
}

declined(
  "13.2.10 settings clientMaxWindowBits: 9, an offer without client_max_window_bits cannot be honoured: uncompressed",
  "permessage-deflate",
  { dangerouslyEnableCompression: { clientMaxWindowBits: 9 } },
);

conformance(
  "13.2.11 compression off (the default): an offer gets no answer, and RSV1 is 1002",
  async (peer) => {
    assert.equal(peer.extensions, undefined);
    await peer.sendText("plain");
    await peer.expectMessage("plain");
    await peer.sendFrame({
      opcode: Op.Text,
      payload: hex("f2c9cc2b0100"),
      rsv: 4,
    });
    await peer.expectFailure(1002);
  },
  { connect: { extensions: "permessage-deflate; client_max_window_bits" } },
);

deflateConformance(
  "13.2.12 settings threshold: 64: smaller echoes go plain (RSV1 clear), larger ones compressed",
  async (peer, deflate) => {
    const small = "x".repeat(63);
    const large = "y".repeat(64);
    await sendCompressed(peer, deflate, small);
    await sendCompressed(peer, deflate, large);
    await peer.sendText(small);
    await peer.expectMessage(small);
    await expectCompressed(peer, deflate, large);
    await peer.expectMessage(small);
    assertDeflateFrames(peer.rawFrames().frames, false);
    await peer.closeHandshake(1000);
  },
  { server: { dangerouslyEnableCompression: { threshold: 64 } } },
);

// ---- 13.3 several offers -----------------------------------------------------

for (
  const [id, offers, expected] of [
    [
      "13.3.1",
      "permessage-deflate; server_max_window_bits=10, permessage-deflate",
      { server_max_window_bits: "10" },
    ],
    [
      "13.3.2",
      "permessage-deflate; client_no_context_takeover; client_max_window_bits=8, permessage-deflate; client_no_context_takeover, permessage-deflate",
      { client_no_context_takeover: true, client_max_window_bits: "8" },
    ],
    [
      "13.3.3",
      "permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=11",
      { server_max_window_bits: "11" },
    ],
    [
      "13.3.4",
      "permessage-deflate; foo, permessage-deflate; client_no_context_takeover",
      { client_no_context_takeover: true },
    ],
    [
      "13.3.5",
      "x-webkit-deflate-frame, permessage-deflate; server_no_context_takeover",
      { server_no_context_takeover: true },
    ],
    [
      "13.3.6",
      [
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=12",
      ],
      { server_max_window_bits: "12" },
    ],
    [
      "13.3.7",
      'permessage-deflate; server_max_window_bits="10"; client_max_window_bits="9"',
      { server_max_window_bits: "10", client_max_window_bits: "9" },
    ],
    [
      "13.3.8",
      "permessage-deflate ;server_max_window_bits = 9 ;\tclient_no_context_takeover",
      { server_max_window_bits: "9", client_no_context_takeover: true },
    ],
    [
      "13.3.9",
      "permessage-deflate; server_no_context_takeover=1, permessage-deflate; client_max_window_bits=20, permessage-deflate; client_max_window_bits=10",
      { client_max_window_bits: "10" },
    ],
  ] as const
) {
  const shown = typeof offers === "string" ? offers : offers.join(" | ");
  deflateConformance(
    `${id} offers "${shown}": the first acceptable one, ${
      JSON.stringify(expected)
    }`,
    async (peer, deflate) => {
      assert.deepEqual(
        Object.fromEntries(readAnswer(peer.extensions!).params),
        expected,
        `answer "${peer.extensions}"`,
      );
      await exchange(peer, deflate);
    },
    { offer: offers },
  );
}

// ---- 13.4 offers to decline ----------------------------------------------------

for (
  const [index, [why, offer]] of ([
    [
      "a repeated server_max_window_bits",
      "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    ],
    [
      "a repeated client_max_window_bits",
      "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
    ],
    [
      "a repeated server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    ],
    [
      "a repeated client_no_context_takeover",
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    ],
    [
      "server_max_window_bits=7",
      "permessage-deflate; server_max_window_bits=7",
    ],
    [
      "server_max_window_bits=16",
      "permessage-deflate; server_max_window_bits=16",
    ],
    [
      "server_max_window_bits=0",
      "permessage-deflate; server_max_window_bits=0",
    ],
    [
      "server_max_window_bits=08 (a leading zero)",
      "permessage-deflate; server_max_window_bits=08",
    ],
    [
      "server_max_window_bits=-9",
      "permessage-deflate; server_max_window_bits=-9",
    ],
    [
      "server_max_window_bits=10.0",
      "permessage-deflate; server_max_window_bits=10.0",
    ],
    [
      "server_max_window_bits=abc",
      "permessage-deflate; server_max_window_bits=abc",
    ],
    [
      "server_max_window_bits without a value",
      "permessage-deflate; server_max_window_bits",
    ],
    [
      'server_max_window_bits=""',
      'permessage-deflate; server_max_window_bits=""',
    ],
    [
      "client_max_window_bits=7",
      "permessage-deflate; client_max_window_bits=7",
    ],
    [
      "client_max_window_bits=16",
      "permessage-deflate; client_max_window_bits=16",
    ],
    [
      "client_max_window_bits=09",
      "permessage-deflate; client_max_window_bits=09",
    ],
    [
      "client_max_window_bits=abc",
      "permessage-deflate; client_max_window_bits=abc",
    ],
    ["an unknown parameter", "permessage-deflate; foo"],
    ["an unknown parameter with a value", "permessage-deflate; foo=bar"],
    ["a misspelt parameter", "permessage-deflate; server_max_window_bit=10"],
    [
      "server_no_context_takeover=true",
      "permessage-deflate; server_no_context_takeover=true",
    ],
    [
      "client_no_context_takeover=1",
      "permessage-deflate; client_no_context_takeover=1",
    ],
    [
      'server_no_context_takeover="x"',
      'permessage-deflate; server_no_context_takeover="x"',
    ],
    [
      "a malformed parameter list",
      "permessage-deflate; server_max_window_bits=10 10",
    ],
    ["an empty parameter", "permessage-deflate; ; server_no_context_takeover"],
    [
      "only other extensions",
      "x-webkit-deflate-frame, deflate-frame; no_context_takeover",
    ],
    ["permessage-deflate's name misspelt", "permessage_deflate"],
  ] as const).entries()
) {
  declined(
    `13.4.${
      index + 1
    } an offer with ${why}: declined, uncompressed, then RSV1 is 1002`,
    offer,
  );
}

// ---- 13.5 RSV bits ---------------------------------------------------------------

conformance(
  "13.5.1 RSV1 without any offer, compression on: 1002, no echo",
  async (peer) => {
    await peer.sendFrame({
      opcode: Op.Text,
      payload: hex("f248cdc9c90700"),
      rsv: 4,
    });
    await peer.expectFailure(1002);
  },
  { server: { dangerouslyEnableCompression: true } },
);

deflateConformance(
  "13.5.2 RSV1 on a continuation frame of a compressed message: 1002, no echo",
  async (peer, deflate) => {
    const payload = await deflate.compressWhole(bytes("Hello, world!"));
    const frames = compressedFrames(Op.Text, payload, { frameSize: 4 });
    frames[1] = { ...frames[1]!, rsv: 4 };
    await peer.sendFrames(frames);
    await peer.expectFailure(1002);
  },
);

deflateConformance(
  "13.5.3 RSV1 on a continuation frame of a plain message: 1002, no echo",
  async (peer, deflate) => {
    const payload = await deflate.compressWhole(bytes("world"));
    await peer.sendFrames([
      { opcode: Op.Text, payload: "Hello, ", fin: false },
      { opcode: Op.Continuation, payload, rsv: 4 },
    ]);
    await peer.expectFailure(1002);
  },
);

for (
  const [id, opcode, name] of [
    ["13.5.4", Op.Ping, "ping"],
    ["13.5.5", Op.Pong, "pong"],
    ["13.5.6", Op.Close, "close"],
  ] as const
) {
  deflateConformance(
    `${id} RSV1 on a ${name} frame: 1002${
      opcode === Op.Ping ? ", no pong" : ""
    }`,
    async (peer) => {
      await peer.sendFrame({
        opcode,
        payload: opcode === Op.Close ? hex("03e8") : "",
        rsv: 4,
      });
      await peer.expectFailure(1002);
    },
  );
}

deflateConformance(
  "13.5.7 RSV1 on a ping between the fragments of a compressed message: 1002, no echo",
  async (peer, deflate) => {
    const payload = await deflate.compressWhole(bytes("Hello, world!"));
    await peer.sendFrames(
      compressedFrames(Op.Text, payload, {
        frameSize: 5,
        between: { opcode: Op.Ping, payload: "x", rsv: 4 },
      }),
    );
    await peer.expectFailure(1002);
  },
);

for (
  const [id, rsv] of [["13.5.8", 2], ["13.5.9", 1], ["13.5.10", 6], [
    "13.5.11",
    7,
  ]] as const
) {
  deflateConformance(
    `${id} a compressed message with RSV = ${rsv}: 1002 (RSV2 and RSV3 stay reserved)`,
    async (peer, deflate) => {
      await peer.sendFrame({
        opcode: Op.Binary,
        payload: await deflate.compressWhole(bytes("Hello, world!")),
        rsv,
      });
      await peer.expectFailure(1002);
    },
  );
}

// ---- 13.6 bad compressed data ------------------------------------------------------

deflateConformance(
  "13.6.1 a compressed text message inflating to invalid UTF-8: 1007, no echo",
  async (peer, deflate) => {
    await sendCompressed(
      peer,
      deflate,
      hex("cebae1bdb9cf83cebcceb5eda080656469746564"),
      { type: "text" },
    );
    await peer.expectFailure(1007);
  },
);

deflateConformance(
  "13.6.2 a compressed text message ending inside a UTF-8 sequence: 1007, no echo",
  async (peer, deflate) => {
    await sendCompressed(peer, deflate, hex("cebae1bdb9cf83cebcce"), {
      type: "text",
    });
    await peer.expectFailure(1007);
  },
);

deflateConformance(
  "13.6.3 compressed text in flushed pieces, a UTF-8 sequence split between them: echoed",
  async (peer, deflate) => {
    const message = bytes("κόσμε κόσμε");
    const pieces = await deflate.compress(message, [3, 4, 9]);
    await peer.sendFrames(piecewiseFrames(Op.Text, pieces));
    await expectCompressed(peer, deflate, "κόσμε κόσμε");
    await peer.closeHandshake(1000);
  },
);

deflateConformance(
  "13.6.4 compressed text in flushed pieces, invalid UTF-8 in the second: 1007, no echo",
  async (peer, deflate) => {
    const pieces = await deflate.compress(hex("cebae1bdb9cf83ce41"), [8]);
    await peer.sendFrames(piecewiseFrames(Op.Text, pieces));
    await peer.expectFailure(1007);
  },
);

deflateConformance(
  "13.6.5 a compressed text message of 64 KiB, invalid UTF-8 at its end: 1007, no echo",
  async (peer, deflate) => {
    const message = concat([proseText(64 * KiB - 1, 5), hex("ff")]);
    await sendCompressed(peer, deflate, message, {
      type: "text",
      frameSize: 4 * KiB,
    });
    await peer.expectFailure(1007);
  },
);

for (
  const [id, what, payload] of [
    ["13.6.6", "block type 3 (reserved)", hex("ffffff")],
    [
      "13.6.7",
      "a stored block whose length and complement disagree",
      hex("000500000068656c6c6f"),
    ],
    [
      "13.6.8",
      "a back-reference before the start of the data",
      fixedHuffman([{ length: 3, distance: 1 }]),
    ],
    ["13.6.9", "a Huffman code for literal/length 286 (invalid)", hex("1a03")],
  ] as const
) {
  for (const [suffix, opcode] of [["a", Op.Text], ["b", Op.Binary]] as const) {
    deflateConformance(
      `${id}${suffix} ${
        opcode === Op.Text ? "text" : "binary"
      } with corrupt DEFLATE data, ${what}: 1007, no echo`,
      async (peer) => {
        await peer.sendFrame({ opcode, payload, rsv: 4 });
        await peer.expectFailure(1007);
      },
    );
  }
}

deflateConformance(
  "13.6.10 a good compressed message, then a binary one whose second frame is corrupt: echo, then 1007",
  async (peer, deflate) => {
    await sendCompressed(peer, deflate, "first");
    // A flushed first piece (it keeps its 00 00 ff ff), then block type 3.
    const message = bytes("second, which breaks");
    const [piece] = await deflate.compress(message, [message.length]);
    await peer.sendFrames([
      { opcode: Op.Binary, payload: piece!, fin: false, rsv: 4 },
      { opcode: Op.Continuation, payload: hex("ffffff") },
    ]);
    await expectCompressed(peer, deflate, "first");
    await peer.expectFailure(1007);
  },
);

const LIMITED: CaseOptions["server"] = {
  dangerouslyEnableCompression: true,
  maxMessageSize: 64 * KiB,
};

deflateConformance(
  "13.6.11 maxMessageSize 64 KiB: a compressed message inflating to exactly 64 KiB is echoed",
  async (peer, deflate) => {
    const message = repeat("limit", 64 * KiB);
    await sendCompressed(peer, deflate, message);
    await expectCompressed(peer, deflate, message);
    await peer.closeHandshake(1000);
  },
  { server: LIMITED },
);

for (
  const [id, size, pieces, what] of [
    ["13.6.12", 64 * KiB + 1, [], "64 KiB + 1 byte, one frame"],
    ["13.6.13", 1024 * KiB, [], "1 MiB (a bomb of about 1 KiB)"],
    [
      "13.6.14",
      1024 * KiB,
      [256 * KiB, 512 * KiB, 768 * KiB],
      "1 MiB in 4 flushed frames",
    ],
  ] as const
) {
  deflateConformance(
    `${id} maxMessageSize 64 KiB: a compressed message inflating to ${what}: 1009, no echo`,
    async (peer, deflate) => {
      const message = new Uint8Array(size);
      const compressed = await deflate.compress(message, pieces);
      assert.ok(
        compressed.reduce((sum, piece) => sum + piece.length, 0) < 64 * KiB,
        "small on the wire",
      );
      await peer.sendFrames(piecewiseFrames(Op.Binary, compressed));
      await peer.expectFailure(1009);
    },
    { server: LIMITED },
  );
}

// ---- 13.7 unusual but valid compressed data -------------------------------------

deflateConformance(
  "13.7.1 empty compressed messages (payload 00 as RFC 7692 section 7.2.3.6 has it, no payload, empty fragments): empty echoes",
  async (peer, deflate) => {
    await peer.sendFrames([
      { opcode: Op.Text, payload: hex("00"), rsv: 4 },
      { opcode: Op.Binary, payload: hex("00"), rsv: 4 },
      { opcode: Op.Text, rsv: 4 },
      { opcode: Op.Binary, rsv: 4 },
      { opcode: Op.Text, rsv: 4, fin: false },
      { opcode: Op.Continuation, fin: false },
      { opcode: Op.Continuation },
    ]);
    await expectCompressed(peer, deflate, "");
    await expectCompressed(peer, deflate, new Uint8Array(0));
    await expectCompressed(peer, deflate, "");
    await expectCompressed(peer, deflate, new Uint8Array(0));
    await expectCompressed(peer, deflate, "");
    await sendCompressed(peer, deflate, "after the empty ones");
    await expectCompressed(peer, deflate, "after the empty ones");
    await peer.closeHandshake(1000);
  },
);

deflateConformance(
  "13.7.2 messages ending with a BFINAL block (RFC 7692 section 7.2.3.5): echoed, later messages too",
  async (peer, deflate) => {
    const first = proseText(3000, 11);
    // Z_FINISH: the data ends with a final block, nothing stripped.
    await peer.sendFrame({
      opcode: Op.Text,
      payload: deflateRawSync(first),
      rsv: 4,
    });
    await peer.sendFrame({
      opcode: Op.Text,
      payload: deflateRawSync(first),
      rsv: 4,
    });
    await expectCompressed(peer, deflate, first, { type: "text" });
    await expectCompressed(peer, deflate, first, { type: "text" });
    // The peer's own compressor never saw those: it starts a context here.
    await sendCompressed(peer, deflate, first, { type: "text" });
    await sendCompressed(peer, deflate, first, { type: "text" });
    await expectCompressed(peer, deflate, first, { type: "text" });
    await expectCompressed(peer, deflate, first, { type: "text" });
    await peer.closeHandshake(1000);
  },
);

deflateConformance(
  "13.7.3 a payload that keeps its 00 00 ff ff: echoed",
  async (peer, deflate) => {
    const message = bytes("tail kept ".repeat(20));
    const payload = deflateRawSync(message, {
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    await peer.sendFrame({ opcode: Op.Text, payload, rsv: 4 });
    await expectCompressed(peer, deflate, message, { type: "text" });
    await peer.closeHandshake(1000);
  },
);

deflateConformance(
  "13.7.4 a compressed message whose first frame is empty (RSV1), data in continuations: echoed",
  async (peer, deflate) => {
    const message = jsonText(10 * KiB, 3);
    const payload = await deflate.compressWhole(message);
    await peer.sendFrames([
      { opcode: Op.Text, fin: false, rsv: 4 },
      ...compressedFrames(Op.Text, payload, { frameSize: 100 }).map((
        frame,
      ) => ({ ...frame, opcode: Op.Continuation, rsv: 0 })),
    ]);
    await expectCompressed(peer, deflate, message, { type: "text" });
    await peer.closeHandshake(1000);
  },
);

deflateConformance(
  "13.7.5 a message compressed in flushed pieces, empty ones included, one per frame: echoed",
  async (peer, deflate) => {
    const message = imageBinary(50 * KiB, 4);
    const pieces = await deflate.compress(message, [
      0,
      1,
      1,
      20 * KiB,
      50 * KiB,
    ]);
    await peer.sendFrames(piecewiseFrames(Op.Binary, pieces));
    await expectCompressed(peer, deflate, message);
    await peer.closeHandshake(1000);
  },
);

deflateConformance(
  "13.7.6 plain messages (RSV1 clear) between compressed ones: all echoed, in order, the server compressing",
  async (peer, deflate) => {
    const a = proseText(2000, 21);
    await sendCompressed(peer, deflate, a, { type: "text" });
    await peer.sendText(proseText(2000, 22));
    await peer.sendFrames([
      { opcode: Op.Binary, payload: "plain ", fin: false },
      { opcode: Op.Continuation, payload: "fragments" },
    ]);
    // Refers back into the first message, past the plain ones.
    await sendCompressed(peer, deflate, a, { type: "text" });
    await expectCompressed(peer, deflate, a, { type: "text" });
    await expectCompressed(peer, deflate, proseText(2000, 22), {
      type: "text",
    });
    await expectCompressed(peer, deflate, bytes("plain fragments"));
    await expectCompressed(peer, deflate, a, { type: "text" });
    await peer.closeHandshake(1000);
  },
);

deflateConformance(
  "13.7.7 a ping between the fragments of a compressed message: pong (RSV1 clear) first, then the echo",
  async (peer, deflate) => {
    const message = randomBinary(3000, 9);
    const payload = await deflate.compressWhole(message);
    await peer.sendFrames(
      compressedFrames(Op.Binary, payload, {
        frameSize: 1000,
        between: { opcode: Op.Ping, payload: "ping" },
      }),
      { chop: 700, delayMs: 2 },
    );
    await peer.expectPong("ping");
    await expectCompressed(peer, deflate, message);
    assertDeflateFrames(peer.rawFrames().frames);
    await peer.closeHandshake(1000);
  },
);

for (const bits of WINDOW_BITS) {
  const window = 2 ** bits;
  deflateConformance(
    `13.7.${bits} client_max_window_bits=${bits}: a back-reference of exactly ${window} bytes into the previous message is honoured`,
    async (peer, deflate) => {
      assert.equal(deflate.agreed.clientMaxWindowBits, bits);
      const first = randomBinary(window, bits);
      const reach: Token = { length: 258, distance: window };
      const expected = new Uint8Array(258);
      for (let i = 0; i < 258; i++) {
        expected[i] = i < window ? first[i]! : expected[i - window]!;
      }
      await peer.sendFrames([
        { opcode: Op.Binary, payload: fixedHuffman([...first]), rsv: 4 },
        { opcode: Op.Binary, payload: fixedHuffman([reach]), rsv: 4 },
      ]);
      await expectCompressed(peer, deflate, first);
      await expectCompressed(peer, deflate, expected);
      await peer.closeHandshake(1000);
    },
    {
      offer: `permessage-deflate; client_max_window_bits=${bits}`,
      offered: { clientMaxWindowBits: bits },
    },
  );
}

for (
  const [id, size] of [["13.7.16", 100], ["13.7.17", 1024 * KiB]] as const
) {
  deflateConformance(
    `${id} a compressed message of ${
      size >= KiB ? "1 MiB" : "100 B"
    } and a close frame in one write: the echo, then the close reply`,
    async (peer, deflate) => {
      const message = proseText(size, 31);
      const payload = await deflate.compressWhole(message);
      await peer.write(
        concat([
          encodeFrame({ opcode: Op.Text, payload, rsv: 4 }),
          encodeFrame({ opcode: Op.Close, payload: hex("03e8") }),
        ]),
      );
      await expectCompressed(peer, deflate, message, { type: "text" });
      await peer.expectClose(1000, { reply: false });
      await peer.expectEof();
    },
  );
}

/**
 * Random blocks repeated with periods from 240 to 300 bytes: the cheapest
 * match sits at the period, just inside or just outside a 256-byte window.
 */
function periodic(seed: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let period = 240; period <= 300; period += 4) {
    const block = randomBinary(period, seed + period);
    for (let k = 0; k < 4; k++) parts.push(block);
  }
  return concat(parts);
}

for (
  const [id, offer] of [
    ["13.7.18", { serverMaxWindowBits: 8 }],
    ["13.7.19", { clientMaxWindowBits: 8 }],
    ["13.7.20", { serverMaxWindowBits: 8, clientMaxWindowBits: 8 }],
  ] as const
) {
  const header = offerHeader(offer);
  deflateConformance(
    `${id} offer "${header}": data repeating every 240 to 300 bytes stays within 256-byte windows both ways`,
    async (peer, deflate) => {
      const own = new StrictInflater(deflate.agreed.clientMaxWindowBits, false);
      const messages = [periodic(1), periodic(2), periodic(1)];
      for (const message of messages) {
        const payload = await deflate.compressWhole(message);
        assert.deepEqual(own.inflate(payload).data, message);
        await peer.sendFrame({ opcode: Op.Binary, payload, rsv: 4 });
      }
      for (const message of messages) {
        const inflated = await expectCompressed(peer, deflate, message);
        assert.ok(
          inflated.maxDistance <= 2 ** deflate.agreed.serverMaxWindowBits,
        );
      }
      await peer.closeHandshake(1000);
    },
    { offer: header, offered: offer },
  );
}
