/** examples/client/main.ts, run as a user would, against an in-process echo. */

import assert from "node:assert/strict";
import { engineEcho } from "../helpers/echo.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function runClient(args: string[], input: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "examples/client/main.ts",
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  return {
    code,
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
}

Deno.test("client example: sends stdin lines, prints replies, closes with 1000, exits 0", async () => {
  const echo = await engineEcho({
    dangerouslyEnableCompression: true,
    protocols: ["chat"],
  });
  const { code, stdout, stderr } = await runClient(
    [
      echo.url,
      "--compression",
      "--subprotocol",
      "chat",
      "--header",
      "X-Test: yes",
    ],
    "first line\nsecond line\n",
  );
  assert.equal(code, 0, stderr);
  assert.equal(stdout, "< first line\n< second line\n");
  assert.match(
    stderr,
    /Connected to .*subprotocol chat, extensions permessage-deflate/,
  );
  assert.match(
    stderr,
    /Closed: close 1000 "client done" \(clean, initiated by local\)/,
  );
  assert.match(
    stderr,
    /Sent 2 message\(s\), 21 bytes; received 2 message\(s\), 21 bytes/,
  );
  await echo.close();
});

Deno.test("client example: a failed connect prints the status and exits 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const { code, stderr } = await runClient([`ws://127.0.0.1:${port}/`], "");
  assert.equal(code, 1);
  assert.match(stderr, /Cannot connect \(cannotConnect\)/);
});
