/**
 * A process's resident memory, read from `/proc/PID/status`; the sockets it
 * holds (`/proc/PID/fd`) and the open-file limit every child inherits.
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

/** Sockets (of any kind) the process holds, from `/proc/PID/fd`. */
export function socketCount(pid: number): number {
  let count = 0;
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      if (
        Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`).startsWith("socket:")
      ) {
        count++;
      }
    } catch {
      // Closed meanwhile.
    }
  }
  return count;
}

/** This process's limit on open files (`ulimit -n`), Infinity if unknown. */
export function openFileLimit(): number {
  try {
    const limits = Deno.readTextFileSync("/proc/self/limits");
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (match === null || match[1] === "unlimited") return Infinity;
    return Number(match[1]);
  } catch {
    return Infinity;
  }
}
