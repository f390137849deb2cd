import assert from "node:assert/strict";
import { WebSocketError, WebSocketStatus } from "../../lib/errors.ts";
import { PerMessageDeflate } from "../../lib/engine/deflate.ts";
import { controlPayload, FrameWriter } from "../../lib/engine/frame_writer.ts";
import { TakingTransport } from "../helpers/taking_transport.ts";
import { Opcode } from "../../lib/protocol/opcodes.ts";
import {
  FrameParser,
  type ParserEvent,
  type Role,
} from "../../lib/protocol/parser.ts";

/** Keeps a copy of every chunk written (pooled frames are reused after). */
class RecordingTransport extends TakingTransport {
  readonly chunks: Uint8Array[] = [];
  protected kept(chunk: Uint8Array): void {
    this.chunks.push(chunk.slice());
  }
}

/** Parses what was written as the peer (the other role) would. */
function peerEvents(
  chunks: readonly Uint8Array[],
  peer: Role,
  allowRsv1 = false,
): ParserEvent[] {
  const parser = new FrameParser({ role: peer, allowRsv1 });
  const events: ParserEvent[] = [];
  for (const chunk of chunks) {
    parser.push(chunk, (event) => {
      events.push(
        "data" in event && event.data instanceof Uint8Array
          ? { ...event, data: event.data.slice() }
          : event,
      );
    });
  }
  return events;
}

const DEFLATE_PARAMS = {
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
} as const;

Deno.test("frame writer: a client masks every frame, a server none", () => {
  for (const role of ["client", "server"] as const) {
    const transport = new RecordingTransport();
    const writer = new FrameWriter(transport, role === "client");
    const big = new Uint8Array(70_000).map((_, i) => i % 251);
    writer.data("héllo", "text", true, false);
    writer.data(big, "binary", true, false);
    writer.control(Opcode.Ping, new Uint8Array([1, 2, 3]));
    for (const chunk of transport.chunks) {
      assert.equal(
        (chunk[1]! & 0x80) !== 0,
        role === "client",
        "the mask bit",
      );
    }
    // The peer's parser refuses frames masked the wrong way, and unmasks.
    const peer = role === "client" ? "server" : "client";
    const events = peerEvents(transport.chunks, peer);
    assert.equal(events.length, 3);
    const [text, binary, ping] = events;
    assert.ok(text?.kind === "data" && binary?.kind === "data");
    assert.equal(new TextDecoder().decode(text.data), "héllo");
    assert.equal(text.type, "text");
    assert.deepEqual(binary.data, big);
    assert.deepEqual(ping, { kind: "ping", data: new Uint8Array([1, 2, 3]) });
  }
});

Deno.test("frame writer: fragments continue their message, text is checked", () => {
  const transport = new RecordingTransport();
  const writer = new FrameWriter(transport, false);
  writer.data(new Uint8Array([0xce]), "text", false, false);
  writer.data(new Uint8Array([0xba]), "text", true, false);
  const opcodes = transport.chunks.map((chunk) => chunk[0]! & 0x0f);
  assert.deepEqual(opcodes, [Opcode.Text, Opcode.Continuation]);
  assert.deepEqual(transport.chunks.map((chunk) => chunk[0]! & 0x80), [
    0,
    0x80,
  ]);
  assert.throws(
    () => writer.data(new Uint8Array([0xff]), "text", true, false),
    TypeError,
  );
  assert.equal(transport.chunks.length, 2, "invalid text is not written");
});

Deno.test("frame writer: with deflate, frames leave in the order sent", async () => {
  const transport = new RecordingTransport();
  const deflate = new PerMessageDeflate(DEFLATE_PARAMS, "server");
  const writer = new FrameWriter(transport, false, deflate);
  const message = "compress me ".repeat(200);
  const compressed = writer.data(message, "text", true, true);
  assert.ok(compressed instanceof Promise, "a compressed frame waits for zlib");
  const plain = writer.data("plain", "text", true, false);
  assert.ok(plain instanceof Promise, "and the frame after it waits too");
  writer.close(1000, "bye");
  assert.equal(transport.chunks.length, 0);
  await Promise.all([compressed, plain]);
  await new Promise<void>((resolve) => writer.afterWrites(resolve));
  const events = peerEvents(transport.chunks, "client", true);
  assert.deepEqual(events.map((event) => event.kind), [
    "data",
    "data",
    "close",
  ]);
  const [first, second] = events;
  assert.ok(first?.kind === "data" && second?.kind === "data");
  assert.equal(first.compressed, true);
  assert.ok(first.data.byteLength < message.length / 4);
  assert.equal(second.compressed, false);
  assert.equal(new TextDecoder().decode(second.data), "plain");
  assert.deepEqual(events[2], { kind: "close", code: 1000, reason: "bye" });
  deflate.close();
});

Deno.test("frame writer: with deflate and nothing pending, an uncompressed frame is written at once", () => {
  const transport = new RecordingTransport();
  const deflate = new PerMessageDeflate(DEFLATE_PARAMS, "server");
  const writer = new FrameWriter(transport, false, deflate);
  assert.equal(writer.data("plain", "text", true, false), undefined);
  assert.equal(transport.chunks.length, 1);
  deflate.close();
});

Deno.test("frame writer: nothing follows the close frame", () => {
  const transport = new RecordingTransport();
  const writer = new FrameWriter(transport, false);
  // 1005 (the peer's close had no code) is answered with no code either.
  writer.close(1005, "");
  writer.close(1000, "again");
  assert.equal(writer.closeSent, true);
  assert.equal(transport.chunks.length, 1);
  assert.deepEqual(transport.chunks[0], new Uint8Array([0x88, 0x00]));
  for (
    const send of [
      () => writer.data("late", "text", true, false),
      () => writer.control(Opcode.Pong, new Uint8Array(0)),
    ]
  ) {
    assert.throws(send, (error: unknown) => {
      assert.ok(error instanceof WebSocketError);
      assert.equal(error.status, WebSocketStatus.InvalidState);
      return true;
    });
  }
  assert.equal(transport.chunks.length, 1);
});

Deno.test("frame writer: control payloads are at most 125 bytes", () => {
  assert.deepEqual(controlPayload("hi", "ping"), new Uint8Array([0x68, 0x69]));
  assert.equal(controlPayload(new Uint8Array(125), "pong").byteLength, 125);
  assert.throws(
    () => controlPayload("x".repeat(126), "ping"),
    /A ping payload is at most 125 bytes, got 126/,
  );
  assert.throws(() => controlPayload(new Uint8Array(126), "pong"), RangeError);
});

/** Records chunks as given and calls back only when told, as a socket does. */
class ReportingTransport extends RecordingTransport {
  readonly given: Uint8Array[] = [];
  readonly pending: (() => void)[] = [];
  override write(chunk: Uint8Array, onWritten?: () => void): void {
    super.write(chunk);
    this.given.push(chunk);
    if (onWritten !== undefined) this.pending.push(onWritten);
  }
  get reportsWrites(): boolean {
    return true;
  }
}

Deno.test("frame writer: a large unmasked payload goes out as it is, and data() settles once it was written", async () => {
  const transport = new ReportingTransport();
  const writer = new FrameWriter(transport, false);
  const big = new Uint8Array(70_000).map((_, i) => i % 251);
  const written = writer.data(big, "binary", true, false);
  assert.ok(written instanceof Promise, "data() should wait for the write");
  // A header of its own, then the caller's bytes themselves.
  assert.equal(transport.given.length, 2);
  assert.equal(transport.given[1], big);
  assert.deepEqual([...transport.given[0]!], [
    0x82,
    127,
    0,
    0,
    0,
    0,
    0,
    1,
    17,
    112,
  ]);
  let settled = false;
  void written.then(() => settled = true);
  await Promise.resolve();
  assert.equal(settled, false, "settled before the transport wrote");
  transport.pending.shift()!();
  await written;
  const events = peerEvents(transport.chunks, "client");
  assert.equal(events.length, 1);
  assert.ok(events[0]?.kind === "data" && events[0].messageEnd);
  assert.deepEqual(events[0].data, big);
  // Smaller payloads, text and masked frames are copied into one frame.
  const small = new Uint8Array(1000);
  assert.equal(writer.data(small, "binary", true, false), undefined);
  assert.equal(writer.data("x".repeat(70_000), "text", true, false), undefined);
  assert.equal(transport.given.length, 4);
  const client = new ReportingTransport();
  assert.equal(
    new FrameWriter(client, true).data(big, "binary", true, false),
    undefined,
  );
  assert.equal(client.given.length, 1);
  assert.deepEqual(
    peerEvents(client.chunks, "server").map((event) =>
      event.kind === "data" ? event.data : undefined
    ),
    [big],
  );
});
