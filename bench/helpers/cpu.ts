/**
 * CPU time, as the load benchmarks read it from `/proc` (Linux; null
 * elsewhere) at the edges of a measured window, and what a window's CPU
 * time comes to per round trip and per core.
 *
 * @module
 */

/** Other processes above this share of a core disturb a measurement. */
export const BUSY_PERCENT = 25;

/** User + system ticks (all threads) of a process, 100 a second. */
function cpuTicks(pid: number | "self"): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // The command name may hold spaces: count fields after its ")". State
    // is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system, all threads) of a process, or null. */
export function cpuSeconds(pid: number | "self"): number | null {
  const ticks = cpuTicks(pid);
  return ticks === null ? null : ticks / 100; // USER_HZ is 100.
}

/** CPU time (user + system, all threads) of a process in µs, or null. */
export function cpuMicros(pid: number | "self"): number | null {
  const ticks = cpuTicks(pid);
  return ticks === null ? null : ticks * 10_000;
}

/** Busy CPU seconds of the whole machine since boot, or null. */
export function machineCpuSeconds(): number | null {
  try {
    const line = Deno.readTextFileSync("/proc/stat").split("\n", 1)[0]!;
    // cpu user nice system idle iowait irq softirq steal ...
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = ticks.reduce(
      (sum, value, i) => i === 3 || i === 4 ? sum : sum + value,
      0,
    );
    return Number.isFinite(busy) ? busy / 100 : null;
  } catch {
    return null;
  }
}

/** What a client child reports of one measured window. */
export interface WindowCpu {
  readonly roundTrips: number;
  readonly seconds: number;
  readonly clientCpuSeconds: number | null;
  readonly serverCpuSeconds: number | null;
  /** CPU time used by the whole machine (all processes, all cores). */
  readonly machineCpuSeconds: number | null;
}

/** A window's CPU time per round trip (µs) and per core (%); null: unknown. */
export interface CpuFigures {
  readonly clientMicrosPerRoundTrip: number | null;
  readonly serverMicrosPerRoundTrip: number | null;
  readonly clientCpuPercent: number | null;
  readonly serverCpuPercent: number | null;
  /** The rest of the machine, never below 0. */
  readonly otherCpuPercent: number | null;
}

/** The CPU figures of `window`. */
export function cpuFigures(window: WindowCpu): CpuFigures {
  const { roundTrips, seconds } = window;
  const perRoundTrip = (cpu: number | null) =>
    cpu === null || roundTrips === 0 ? null : (1e6 * cpu) / roundTrips;
  const percent = (cpu: number | null) =>
    cpu === null || seconds === 0 ? null : (100 * cpu) / seconds;
  const { clientCpuSeconds: client, serverCpuSeconds: server } = window;
  const machine = window.machineCpuSeconds;
  return {
    clientMicrosPerRoundTrip: perRoundTrip(client),
    serverMicrosPerRoundTrip: perRoundTrip(server),
    clientCpuPercent: percent(client),
    serverCpuPercent: percent(server),
    otherCpuPercent: machine === null || client === null || server === null
      ? null
      : Math.max(0, percent(machine - client - server)!),
  };
}
