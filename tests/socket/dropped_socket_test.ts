/**
 * A socket is garbage once it ended, however it ended. The case that
 * failed: a peer that vanished without a close frame. Deno keeps its own WebSocket of such a connection until its
 * keep-alive timer fires, up to half of `idleTimeout` later (two minutes at
 * socketry's default), and the native backend used to hang the whole socket
 * on it: 7.1 against 3.3 KB of heap per dropped connection for bare Deno.
 */

import assert from "node:assert/strict";
import { ROOT } from "../helpers/processes.ts";

Deno.test("sockets are freed once they ended, dropped by their peers or closed by either side, on every backend", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      "tests/socket/peers/dropped_socket.ts",
      "20",
    ],
    cwd: ROOT,
    stdin: "null",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const errors = new TextDecoder().decode(stderr);
  assert.equal(code, 0, errors.slice(-2000));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), {
    "native, dropped": 0,
    "native, peer close": 0,
    "native, server close": 0,
    "engine, dropped": 0,
    "engine, peer close": 0,
    "engine, server close": 0,
  });
});
