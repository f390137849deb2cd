/**
 * How the benchmarks start their child processes: the command line of a
 * server script (bench/helpers/children.ts).
 *
 * @module
 */

import assert from "node:assert/strict";
import { pinned, scriptCommand } from "../../bench/helpers/children.ts";

Deno.test("a Deno script gets Deno's own flags before the script and its arguments after it", () => {
  const [command, args] = scriptCommand(
    {
      runtime: "deno",
      script: "/b/server.ts",
      denoFlags: ["--v8-flags=--max-semi-space-size=1"],
    },
    ["--port", "0"],
  );
  assert.equal(command, Deno.execPath());
  assert.deepEqual(args, [
    "run",
    "--allow-net",
    "--no-prompt",
    "--v8-flags=--max-semi-space-size=1",
    "/b/server.ts",
    "--port",
    "0",
  ]);
});

Deno.test("without Deno flags a Deno script runs as before; Node and executables get none", () => {
  assert.deepEqual(
    scriptCommand({ runtime: "deno", script: "/b/s.ts" }, ["-x"], "-A")[1],
    ["run", "-A", "--no-prompt", "/b/s.ts", "-x"],
  );
  assert.deepEqual(
    scriptCommand(
      { runtime: "node", script: "/b/s.mjs", denoFlags: ["--v8-flags=x"] },
      ["-x"],
    ),
    ["node", ["/b/s.mjs", "-x"]],
  );
  assert.deepEqual(
    scriptCommand(
      {
        runtime: "node",
        executable: "/opt/bun",
        script: "/b/s.ts",
        denoFlags: ["--v8-flags=x"],
      },
      [],
    ),
    ["/opt/bun", ["/b/s.ts"]],
  );
});

Deno.test("pinned runs the command under taskset only when CPUs are given", () => {
  assert.deepEqual(pinned(["deno", ["run"]], "0"), [
    "taskset",
    ["-c", "0", "deno", "run"],
  ]);
  assert.deepEqual(pinned(["deno", ["run"]], undefined), ["deno", ["run"]]);
});
