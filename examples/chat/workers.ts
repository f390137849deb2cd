/**
 * `--workers N`: N chat servers in worker isolates of this process, all on
 * one port (`reusePort`: the kernel spreads new connections over them).
 * Their rooms are shared through a `BroadcastChannel` backplane, or with
 * `--redis`, each worker joins Redis by itself as one more chat process.
 *
 * @module
 */

import { ChatStartError } from "./server.ts";
import type { ChatSettings } from "./settings.ts";
import type { WorkerCommand, WorkerReport } from "./worker.ts";

/** How long the workers may take to stop before they are terminated. */
const STOP_TIMEOUT = 10_000;

/** Chat servers running in worker isolates. */
export interface WorkerPool {
  /** Where they listen. */
  readonly address: { readonly hostname: string; readonly port: number };
  /** Stops every worker gracefully; resolves with the sockets completed. */
  stop(): Promise<number>;
}

/** One worker and its reports, one at a time. */
class ChatWorker {
  readonly #worker: Worker;
  readonly #reports: WorkerReport[] = [];
  #waiting: ((report: WorkerReport) => void) | undefined;

  constructor(settings: ChatSettings) {
    this.#worker = new Worker(new URL("./worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = ({ data }: MessageEvent<WorkerReport>) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting === undefined) this.#reports.push(data);
      else waiting(data);
    };
    this.#worker.onerror = (event) => {
      // A worker that fails to load or throws: the chat cannot go on.
      event.preventDefault();
      const report = { op: "failed", message: event.message } as const;
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting !== undefined) return waiting(report);
      console.error(`A chat worker failed: ${event.message}`);
      Deno.exit(1);
    };
    this.#send({ op: "start", settings });
  }

  /** The next report. */
  next(): Promise<WorkerReport> {
    const report = this.#reports.shift();
    if (report !== undefined) return Promise.resolve(report);
    return new Promise((resolve) => this.#waiting = resolve);
  }

  /** Asks it to stop and resolves with the sockets it completed. */
  async stop(): Promise<number> {
    this.#send({ op: "stop" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), STOP_TIMEOUT);
    });
    const report = await Promise.race([this.next(), late]);
    clearTimeout(timer);
    this.#worker.terminate();
    return report?.op === "stopped" ? report.completed : 0;
  }

  terminate(): void {
    this.#worker.terminate();
  }

  #send(command: WorkerCommand): void {
    this.#worker.postMessage(command);
  }
}

/**
 * Starts `settings.workers` chat servers on one port: the first one finds
 * the port (it may be 0), the others join it. Rejects with a
 * {@linkcode ChatStartError} when one of them cannot start.
 */
export async function startWorkers(
  settings: ChatSettings,
): Promise<WorkerPool> {
  const workers: ChatWorker[] = [];
  const started = async (worker: ChatWorker) => {
    workers.push(worker);
    const report = await worker.next();
    if (report.op === "listening") return report.address;
    for (const each of workers) each.terminate();
    throw new ChatStartError(
      report.op === "failed" ? report.message : "A chat worker did not start",
    );
  };
  const address = await started(new ChatWorker(settings));
  const rest = { ...settings, port: address.port };
  await Promise.all(
    Array.from(
      { length: (settings.workers ?? 1) - 1 },
      () => started(new ChatWorker(rest)),
    ),
  );
  return {
    address,
    async stop() {
      const completed = await Promise.all(workers.map((each) => each.stop()));
      return completed.reduce((sum, count) => sum + count, 0);
    },
  };
}
