/**
 * The echo sample under connection churn: every socket it accepts completes
 * exactly once, on both backends (the sample's own count, printed at
 * shutdown, against the cycles the churn soak completed).
 */

import assert from "node:assert/strict";
import { ROOT } from "../helpers/processes.ts";

interface SoakReport {
  server: string;
  cycles: number;
  failed: number;
  firstFailure?: string;
  accepted: number | null;
  completed: number | null;
}

for (const server of ["native", "engine"]) {
  Deno.test(`echo sample (${server}): 2,000 connect/echo/close cycles, each socket accepted and completed once`, async () => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "bench/churn_soak.ts",
        "--servers",
        server,
        "--cycles",
        "2000",
        "--baseline",
        "500",
        "--every",
        "1000",
        "--json",
      ],
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).output();
    const text = new TextDecoder().decode(output.stdout);
    const line = text.trim().split("\n").findLast((l) => l.startsWith("{"));
    assert.ok(line, text + new TextDecoder().decode(output.stderr));
    // RSS after so few cycles says nothing yet (the soak's goal needs 200,000).
    const [report] = JSON.parse(line).reports as SoakReport[];
    assert.equal(report!.server, server);
    assert.equal(report!.failed, 0, report!.firstFailure);
    assert.equal(report!.cycles, 2000);
    assert.equal(report!.accepted, 2000);
    assert.equal(report!.completed, 2000);
  });
}
