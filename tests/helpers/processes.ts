/**
 * Child processes for the interop tests: whether Node (with `ws`) and
 * Debian's Python (with `websockets`) are there, and peer programs run as
 * children whose output is read line by line and which are always killed by
 * their PID.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { Inbox } from "./client.ts";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Debian's Python, which has `python3-websockets` (not pyenv's `python3`). */
export const pythonPath = "/usr/bin/python3";

/** Whether `command args...` runs and exits with 0. */
function succeeds(command: string, args: string[]): boolean {
  try {
    return new Deno.Command(command, {
      args,
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Whether Debian's Python can import `websockets`. */
export function hasPythonWebsockets(): boolean {
  return succeeds(pythonPath, ["-c", "import websockets"]);
}

/** Whether `node` runs. */
export function hasNode(): boolean {
  return succeeds("node", ["--version"]);
}

/** Whether `node` runs and resolves `ws` from the repository. */
export function hasNodeWs(): boolean {
  return succeeds("node", ["-e", "require.resolve('ws')"]);
}

/** A running peer program. */
export interface PeerProcess {
  /** The lines it printed on stdout, as they come. */
  readonly lines: Inbox<string>;
  /** Everything it printed so far, for failure messages. */
  output(): string;
  /** Resolves with its exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  /**
   * Kills it by its PID if it still runs, then waits until it exited and its
   * output was read to the end. Safe to call more than once.
   */
  stop(): Promise<void>;
}

/** Starts `command args...` in the repository root. */
export function startPeer(command: string, args: string[]): PeerProcess {
  const child = new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((status) => {
    exited = true;
    return status;
  });
  const lines = new Inbox<string>();
  const out = { text: "" };
  const err = { text: "" };
  const pumps = Promise.all([
    (async () => {
      let pending = "";
      for await (
        const chunk of child.stdout.pipeThrough(new TextDecoderStream())
      ) {
        out.text += chunk;
        pending += chunk;
        let newline: number;
        while ((newline = pending.indexOf("\n")) >= 0) {
          lines.push(pending.slice(0, newline).trimEnd());
          pending = pending.slice(newline + 1);
        }
      }
      if (pending !== "") lines.push(pending);
    })(),
    (async () => {
      for await (
        const chunk of child.stderr.pipeThrough(new TextDecoderStream())
      ) {
        err.text += chunk;
      }
    })(),
  ]);
  return {
    lines,
    output: () => `--- stdout ---\n${out.text}--- stderr ---\n${err.text}`,
    status,
    async stop() {
      if (!exited) {
        try {
          Deno.kill(child.pid, "SIGKILL");
        } catch {
          // It exited in the meantime.
        }
      }
      await status;
      await pumps.catch(() => {});
    },
  };
}

/** Runs a peer to its end (killing it by PID after `ms`), with its output. */
export async function runPeer(
  command: string,
  args: string[],
  ms = 15_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(command, {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const kill = () => {
    if (exited) return;
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch {
      // It exited in the meantime.
    }
  };
  const timer = setTimeout(kill, ms);
  try {
    const output = await child.output();
    exited = true;
    const decoder = new TextDecoder();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    clearTimeout(timer);
    kill();
    await child.status;
  }
}

/** A peer server's first line, `{"port": N}`, waiting up to `ms`. */
export async function peerPort(
  peer: PeerProcess,
  ms = 10_000,
): Promise<number> {
  let line: string;
  try {
    line = await peer.lines.next(ms);
  } catch (error) {
    throw new Error(`the peer printed no port: ${error}\n${peer.output()}`);
  }
  const { port } = JSON.parse(line) as { port: number };
  if (!Number.isInteger(port)) {
    throw new Error(`the peer printed ${line}\n${peer.output()}`);
  }
  return port;
}
