/**
 * The 200 MiB transfer of `stream_socket_test.ts`, in a process of its own
 * so that its memory is the stream socket's alone (not the test runner's,
 * with every other test's heap): echoes 200 MiB through a `StreamSocket`
 * to the server at `ws://127.0.0.1:PORT/` and prints one JSON line with the
 * bytes received, the checksums and the RSS baseline and peak.
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

// Every part read is a fresh ArrayBuffer, and V8 collects those only once
// tens of MiB of them piled up (its external-memory limit), so from a cold
// start RSS rises by some 60-80 MiB whatever the transfer's size, then stays
// flat. So a 256 MiB warm-up first (several such cycles), and the baseline
// is the highest RSS seen during it: what is asserted is that 200 MiB more
// do not raise that high-water mark, i.e. that backpressure holds the data
// at its source.
let peak = Deno.memoryUsage().rss;
const sampler = setInterval(() => {
  peak = Math.max(peak, Deno.memoryUsage().rss);
}, 10);
const writer = stream.writable.getWriter();
const reader = stream.readable.getReader();
const warmup = (async () => {
  for (let sent = 0; sent < 256 * MiB; sent += chunk.length) {
    await writer.write(chunk);
  }
})();
for (let got = 0; got < 256 * MiB;) {
  got += (await reader.read()).value!.byteLength;
}
await warmup;
const baseline = Math.max(peak, Deno.memoryUsage().rss);
peak = baseline;

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
while (received < total) {
  const { value } = await reader.read();
  const end = received + value!.byteLength;
  for (; next < end; next += STEP) {
    checksum = (checksum + value![next - received]! * (next % 65536)) >>> 0;
  }
  received = end;
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
