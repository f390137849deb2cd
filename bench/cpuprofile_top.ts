/**
 * Summarises a V8 `.cpuprofile` (from `deno run --cpu-prof` or
 * `node --cpu-prof`, such as `bench/echo_load.ts --cpu-prof NAME` writes):
 * the functions with the most self time, and the most total (inclusive)
 * time, as shares of all samples, idle excluded.
 *
 *     deno run --allow-read bench/cpuprofile_top.ts FILE.cpuprofile [--top 25]
 *         [--filter TEXT]
 *
 * `--filter` keeps the total-time table to frames whose URL contains TEXT
 * (e.g. `lib/` for socketry's own code). A function is keyed by name, file
 * and line, so the same function reached through different call paths adds
 * up.
 *
 * @module
 */

import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    top: { type: "string", default: "25" },
    filter: { type: "string" },
  },
});
if (positionals.length !== 1) {
  console.error(
    "Usage: deno run --allow-read bench/cpuprofile_top.ts FILE.cpuprofile [--top 25] [--filter TEXT]",
  );
  Deno.exit(2);
}
const top = Number(values.top);

const profile = JSON.parse(Deno.readTextFileSync(positionals[0]!)) as Profile;
const byId = new Map<number, ProfileNode>();
const parent = new Map<number, number>();
for (const node of profile.nodes) {
  byId.set(node.id, node);
  for (const child of node.children ?? []) parent.set(child, node.id);
}

function keyOf(frame: CallFrame): string {
  const file = frame.url.replace(/^file:\/\//, "").replace(/^.*\/main\//, "");
  const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  return file === "" ? name : `${name}  ${file}:${frame.lineNumber + 1}`;
}

const self = new Map<string, number>();
const total = new Map<string, number>();
let counted = 0;
let idle = 0;
for (const id of profile.samples) {
  const node = byId.get(id)!;
  if (node.callFrame.functionName === "(idle)") {
    idle++;
    continue;
  }
  counted++;
  const key = keyOf(node.callFrame);
  self.set(key, (self.get(key) ?? 0) + 1);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const frameKey = keyOf(byId.get(at)!.callFrame);
    if (seen.has(frameKey)) continue;
    seen.add(frameKey);
    total.set(frameKey, (total.get(frameKey) ?? 0) + 1);
  }
}

const seconds = (profile.endTime - profile.startTime) / 1e6;
console.log(
  `${positionals[0]}: ${profile.samples.length} samples over ${
    seconds.toFixed(1)
  } s; ${idle} idle (${
    (100 * idle / profile.samples.length).toFixed(1)
  }%), ${counted} busy`,
);

function print(title: string, counts: Map<string, number>, filter?: string) {
  console.log(`\n${title}`);
  const rows = [...counts.entries()]
    .filter(([key]) => filter === undefined || key.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  for (const [key, count] of rows) {
    console.log(
      `${(100 * count / counted).toFixed(1).padStart(6)}%  ${
        String(count).padStart(6)
      }  ${key}`,
    );
  }
}

print("Self time (share of busy samples):", self);
print(
  `Total time${
    values.filter === undefined ? "" : ` (frames matching ${values.filter})`
  }:`,
  total,
  values.filter,
);
