/**
 * A process's resident memory, read from `/proc/PID/status`.
 *
 * @module
 */

import { delay } from "./children.ts";
import { median } from "./stats.ts";

/** Memory readings of one process, KiB. */
export interface Memory {
  /** VmRSS, KiB. */
  rss: number;
  /** RssAnon, KiB (heap and other private memory, no mapped files). */
  anon: number;
}

/** The memory of `pid` now, or null when it cannot be read. */
export function readMemory(pid: number | "self"): Memory | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const field = (name: string) =>
      Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    const rss = field("VmRSS");
    const anon = field("RssAnon");
    return Number.isFinite(rss) ? { rss, anon } : null;
  } catch {
    return null;
  }
}

/** The median of `samples` readings 400 ms apart. */
export async function sampleMemory(
  pid: number,
  samples: number,
): Promise<Memory> {
  const readings: Memory[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await delay(400);
    const memory = readMemory(pid);
    if (memory === null) throw new Error(`cannot read /proc/${pid}/status`);
    readings.push(memory);
  }
  return {
    rss: median(readings.map((m) => m.rss)),
    anon: median(readings.map((m) => m.anon)),
  };
}
