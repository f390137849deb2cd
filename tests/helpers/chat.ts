/** Runs examples/chat/main.ts as a child process, as a user would. */

import { fileURLToPath } from "node:url";
import { drain, freePort, withTimeout } from "./page.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const STARTUP_TIMEOUT = 20_000;
const EXIT_TIMEOUT = 10_000;

/** A running chat server. */
export interface ChatServer {
  readonly port: number;
  /** `ws://127.0.0.1:PORT/ws` */
  readonly url: string;
  /** What it printed so far. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit status once it exited. */
  stop(): Promise<Deno.CommandStatus>;
}

/** Starts the chat on a free loopback port with extra `args`. */
export async function startChat(args: string[]): Promise<ChatServer> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "examples/chat/main.ts",
      "--port",
      String(port),
      "--hostname",
      "127.0.0.1",
      ...args,
    ],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = { text: "" };
  const err = { text: "" };
  const output = () => `--- stdout ---\n${out.text}--- stderr ---\n${err.text}`;
  const listening = Promise.withResolvers<void>();
  const line = `Listening on http://127.0.0.1:${port}/\n`;
  const pumps = Promise.all([
    drain(child.stdout, out, () => {
      if (out.text.includes(line)) listening.resolve();
    }),
    drain(child.stderr, err),
  ]);
  const status = child.status;
  status.then(() => pumps).catch(() => {}).then(() =>
    listening.reject(
      new Error(`The chat exited before listening:\n${output()}`),
    )
  );
  try {
    await withTimeout(
      listening.promise,
      STARTUP_TIMEOUT,
      () =>
        `The chat did not listen within ${STARTUP_TIMEOUT} ms:\n${output()}`,
    );
  } catch (error) {
    child.kill("SIGKILL");
    await status;
    await pumps;
    throw error;
  }
  return {
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    output,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already gone: the status says how.
      }
      try {
        return await withTimeout(
          status,
          EXIT_TIMEOUT,
          () => `The chat did not exit after SIGTERM:\n${output()}`,
        );
      } catch (error) {
        child.kill("SIGKILL");
        await status;
        throw error;
      } finally {
        await pumps;
      }
    },
  };
}
