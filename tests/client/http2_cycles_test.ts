/**
 * Under Deno 2.9 a `node:http2` session closed inside its own listener for
 * the server's SETTINGS corrupts memory, and the process dies of a
 * segmentation fault at a later garbage collection. connect() probes
 * HTTP/2 that way when a server speaks HTTP/2 without WebSockets over it.
 * This runs 300 cycles of connect() over HTTP/2 to such a server, the
 * HTTP/1.1 fallback and a socket over HTTP/2 (every 20th cycle), with a
 * collection after each, in a child process, and asserts that it never
 * crashes. Before the probe waited a microtask, it died in the first cycle.
 */

import assert from "node:assert/strict";
import { ROOT } from "../helpers/processes.ts";
import { testCertificates } from "../helpers/tls.ts";

const CYCLES = 300;

Deno.test("HTTP/2 connect/close cycles never crash the process", async () => {
  const { ca, cert, key } = await testCertificates();
  const dir = await Deno.makeTempDir({ prefix: "socketry-h2-cycles-" });
  try {
    const files = { ca, cert, key };
    for (const [name, pem] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}.pem`, pem);
    }
    const started = performance.now();
    const { code, signal, stdout, stderr } = await new Deno.Command(
      Deno.execPath(),
      {
        args: [
          "run",
          "--allow-all",
          "--v8-flags=--expose-gc",
          "tests/client/peers/http2_cycles.ts",
          String(CYCLES),
          `${dir}/ca.pem`,
          `${dir}/cert.pem`,
          `${dir}/key.pem`,
        ],
        cwd: ROOT,
        stdin: "null",
        signal: AbortSignal.timeout(150_000),
      },
    ).output();
    const seconds = (performance.now() - started) / 1000;
    const errors = new TextDecoder().decode(stderr);
    assert.equal(signal, null, `killed by ${signal} after ${seconds} s`);
    assert.equal(code, 0, `exit code ${code}: ${errors.slice(-2000)}`);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), {
      refused: CYCLES,
      fellBack: CYCLES / 20,
      overHttp2: CYCLES / 20,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
