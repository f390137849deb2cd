/**
 * socketry's client under load, for `bench/client_load.ts`: `connect()` from
 * `mod.ts` (an engine socket in the client role, over whatever transport
 * `connect()` uses: `node:net` since cbc2fa3, `Deno.connect` before), run
 * by Deno. Everything but the socket calls is `common.mjs`, shared with the
 * `ws` client.
 *
 *     deno run -A bench/clients/socketry_client.ts --url ws://HOST:PORT/ws \
 *         --size BYTES [--binary] [--connections 20] [--inflight 4]
 *         [--seconds 5] [--warmup 1] [--server-pid PID]
 *         [--mod PATH]
 *
 * One `message` listener per socket, which checks the echo and sends the
 * next message (`socket.send(data)`, its promise not awaited: the in-flight
 * window bounds what is queued).
 *
 * `--mod PATH` loads socketry from another `mod.ts` than this checkout's (a
 * snapshot of a commit, say, made with `git archive`), to compare versions.
 *
 * `-A` because Deno grants `/proc` (CPU time) only with all permissions.
 *
 * @module
 */

import {
  Load,
  type LoadConn,
  Messages,
  parseClientArgs,
  runLoad,
} from "./common.mjs";

const args = parseClientArgs(Deno.args, { mod: "" });
const modPath = String(args.extra.mod);
const mod: typeof import("../../mod.ts") = modPath === ""
  ? await import("../../mod.ts")
  : await import(new URL(modPath, `file://${Deno.cwd()}/`).href);
const { connect } = mod;
const load = new Load(new Messages(args.size, args.binary));

// A send that fails rejects its promise; nobody awaits it, so count it here.
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  if (!load.closing) load.fail("socket", `send: ${event.reason}`);
});

async function open(conn: LoadConn, url: string): Promise<boolean> {
  const maxMessageSize = 64 * 1024 * 1024;
  const socket = await connect(url, {
    connectTimeout: 10_000,
    maxMessageSize,
    receiveTimeout: Infinity,
  });
  conn.transmit = (data) => {
    socket.send(data);
  };
  conn.close = () => {
    socket.close(1000, "done");
  };
  socket.addEventListener("error", (event) => {
    if (!load.closing) {
      load.fail("socket", `socket ${conn.index}: ${event.message}`);
    }
  });
  socket.closed.then((outcome) =>
    conn.ended(`${outcome.ending} ${outcome.code} ${outcome.reason}`)
  );
  socket.addEventListener("message", (event) => conn.echoed(event.data));
  return true;
}

await runLoad({
  name: "socketry",
  runtime: `Deno ${Deno.version.deno}`,
  args,
  open,
  load,
});
