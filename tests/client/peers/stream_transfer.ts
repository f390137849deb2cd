/**
 * The 200 MiB transfer of `stream_socket_test.ts`, in a process of its own
 * so that its memory is the stream socket's alone (not the test runner's,
 * with every other test's heap): echoes 200 MiB through a `StreamSocket`
 * to the server at `ws://127.0.0.1:PORT/`, reading with a BYOB reader, and
 * prints one JSON line with the bytes received, the checksums and the RSS
 * baseline and peak.
 *
 *     deno run --allow-net tests/client/peers/stream_transfer.ts PORT
 */

import { StreamSocket } from "../../../mod.ts";

const MiB = 1024 * 1024;
const port = Number(Deno.args[0]);
const stream = new StreamSocket();
await stream.connect(`ws://127.0.0.1:${port}/`);
const total = 200 * MiB;
const chunk = new Uint8Array(64 * 1024);
for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) % 251;

// Measured from a cold start: the baseline is the RSS once connected. The
// reader is a BYOB reader over one reused buffer and the socket reads into
// lent buffers, so no part of the transfer allocates per chunk; what RSS
// still gains is the runtime's own (code, promises, the collector's room).
const baseline = Deno.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, Deno.memoryUsage().rss);
}, 10);
const writer = stream.writable.getWriter();
const reader = stream.readable.getReader({ mode: "byob" });
const writing = (async () => {
  for (let sent = 0; sent < total; sent += chunk.length) {
    await writer.write(chunk);
  }
})();
// A sample every 4099 bytes, weighted by position: reordered, lost or
// repeated data changes it.
const STEP = 4099;
let received = 0;
let checksum = 0;
let next = 0;
let buffer = new Uint8Array(64 * 1024);
while (received < total) {
  const { value } = await reader.read(buffer);
  const end = received + value!.byteLength;
  for (; next < end; next += STEP) {
    checksum = (checksum + value![next - received]! * (next % 65536)) >>> 0;
  }
  received = end;
  // The read hands the buffer back (transferred): reuse it.
  buffer = new Uint8Array(value!.buffer);
}
await writing;
clearInterval(sampler);
peak = Math.max(peak, Deno.memoryUsage().rss);

let expected = 0;
for (let position = 0; position < total; position += STEP) {
  expected =
    (expected + chunk[position % chunk.length]! * (position % 65536)) >>> 0;
}
reader.releaseLock();
await writer.close();
const closed = await stream.closed;
console.log(JSON.stringify({
  total,
  received,
  checksum,
  expected,
  baseline,
  peak,
  closeCode: closed.code,
}));
