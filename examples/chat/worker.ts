/**
 * One chat server in a worker isolate, driven by `workers.ts`: it starts
 * on the port the others use (`reusePort`, so the kernel spreads the
 * connections over the isolates), reports where it listens, and stops
 * gracefully when told.
 *
 * @module
 */

import { type ChatServer, ChatStartError, startChatServer } from "./server.ts";
import type { ChatSettings } from "./settings.ts";

/** What the main isolate tells a worker. */
export type WorkerCommand =
  | { readonly op: "start"; readonly settings: ChatSettings }
  | { readonly op: "stop" };

/** What a worker tells the main isolate. */
export type WorkerReport =
  | {
    readonly op: "listening";
    readonly address: { readonly hostname: string; readonly port: number };
  }
  | { readonly op: "failed"; readonly message: string }
  | { readonly op: "stopped"; readonly completed: number };

const scope = globalThis as unknown as {
  onmessage: (event: MessageEvent<WorkerCommand>) => void;
  postMessage: (report: WorkerReport) => void;
  close: () => void;
};

let server: ChatServer | undefined;

scope.onmessage = async ({ data: command }) => {
  if (command.op === "start") {
    try {
      server = await startChatServer(command.settings, "isolates", true);
      scope.postMessage({ op: "listening", address: server.address });
    } catch (error) {
      scope.postMessage({
        op: "failed",
        message: error instanceof ChatStartError
          ? error.message
          : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error),
      });
    }
    return;
  }
  const completed = await server?.stop() ?? 0;
  scope.postMessage({ op: "stopped", completed });
  scope.close();
};
