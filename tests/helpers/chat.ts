/** Runs examples/chat/main.ts as a child process, as a user would. */

import { fileURLToPath } from "node:url";
import { waitFor } from "./client.ts";
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

/** `deno` arguments that run the chat on loopback `port` with extra `args`. */
export function chatCommand(port: number, args: string[]): string[] {
  return [
    "run",
    "-A",
    "examples/chat/main.ts",
    "--port",
    String(port),
    "--hostname",
    "127.0.0.1",
    ...args,
  ];
}

/** Starts the chat on a free loopback port with extra `args`. */
export async function startChat(args: string[]): Promise<ChatServer> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: chatCommand(port, args),
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

/**
 * A member of a chat room: what it sends, the lines it receives (a
 * watcher's escaped NUL lines unescaped) and, with `?stats=1`, the member
 * counts and deliveries it is told.
 */
export class ChatMember {
  readonly name: string;
  /** Every chat message as it arrived (statistics left out). */
  readonly received: string[] = [];
  /** Resolves when the socket closed, with how. */
  readonly closed: Promise<CloseEvent>;
  readonly #ws: WebSocket;
  readonly #lines: string[] = [];
  #taken = 0;
  #members = -1;
  #deliveries = 0;

  private constructor(name: string, ws: WebSocket, stats: boolean) {
    this.name = name;
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) =>
      ws.addEventListener("close", resolve)
    );
    const decoder = new TextDecoder();
    ws.addEventListener("message", ({ data }) => {
      const text = typeof data === "string" ? data : decoder.decode(data);
      if (
        stats && text.startsWith("\u0000") && !text.startsWith("\u0000\u0000")
      ) {
        const update = JSON.parse(text.slice(1));
        this.#members = update.members;
        this.#deliveries += update.deliveries ?? 0;
        return;
      }
      this.received.push(text);
      this.#lines.push(
        stats && text.startsWith("\u0000") ? text.slice(1) : text,
      );
    });
  }

  /** Joins `room` on `chat` (with `?stats=1` when `stats`) once open. */
  static open(
    name: string,
    chat: ChatServer,
    room: string,
    stats = false,
  ): Promise<ChatMember> {
    const ws = new WebSocket(
      `${chat.url}?room=${room}${stats ? "&stats=1" : ""}`,
    );
    const member = new ChatMember(name, ws, stats);
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(member));
      ws.addEventListener(
        "error",
        () => reject(new Error(`${name} could not connect`)),
      );
    });
  }

  /** Sends a line to the room. */
  send(text: string): void {
    this.#ws.send(text);
  }

  /** The next `count` lines, waiting up to `ms` for them. */
  async lines(count: number, ms = 10_000): Promise<string[]> {
    await waitFor(
      () => this.#lines.length >= this.#taken + count,
      ms,
      `${count} lines for ${this.name} (${
        this.#lines.length - this.#taken
      } so far)`,
    );
    const lines = this.#lines.slice(this.#taken, this.#taken + count);
    this.#taken += count;
    return lines;
  }

  /** How many lines arrived beyond those taken by `lines()`. */
  extraLines(): number {
    return this.#lines.length - this.#taken;
  }

  /** Waits until the room's member count it was told is `count`. */
  members(count: number, ms = 10_000): Promise<void> {
    return waitFor(
      () => this.#members === count,
      ms,
      `${this.name} to count ${count} members (it counts ${this.#members})`,
    );
  }

  /**
   * Waits until the deliveries it was told add up to `total`, then checks
   * over one more second that they stay there.
   */
  async deliveries(total: number, ms = 10_000): Promise<void> {
    await waitFor(
      () => this.#deliveries >= total,
      ms,
      `${this.name} to count ${total} deliveries (${this.#deliveries} so far)`,
    );
    await new Promise((resolve) => setTimeout(resolve, 1100));
    if (this.#deliveries !== total) {
      throw new Error(
        `${this.name} counts ${this.#deliveries} deliveries, not ${total}`,
      );
    }
  }

  /** Closes the socket (if open) and waits until it closed. */
  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.close(1000);
    if (this.#ws.readyState !== WebSocket.CLOSED) await this.closed;
  }
}
