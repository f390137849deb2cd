/** A test client on Deno's built-in WebSocket with awaitable messages. */

export class TestClient {
  readonly ws: WebSocket;
  readonly closed: Promise<CloseEvent>;
  readonly #messages: (string | ArrayBuffer)[] = [];
  #waiter: ((message: string | ArrayBuffer) => void) | undefined;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => resolve(event));
    });
    ws.addEventListener("message", (event) => {
      const waiter = this.#waiter;
      if (waiter !== undefined) {
        this.#waiter = undefined;
        waiter(event.data);
      } else this.#messages.push(event.data);
    });
  }

  /** Connects and waits until the socket is open. */
  static open(url: string, protocols?: string[]): Promise<TestClient> {
    const client = new TestClient(new WebSocket(url, protocols));
    return new Promise((resolve, reject) => {
      client.ws.addEventListener("open", () => resolve(client));
      client.ws.addEventListener(
        "error",
        (event) =>
          reject(new Error(`client failed: ${(event as ErrorEvent).message}`)),
      );
    });
  }

  /** The next message, waiting up to `ms`. */
  next(ms = 5000): Promise<string | ArrayBuffer> {
    const queued = this.#messages.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no message within ${ms} ms`));
      }, ms);
      this.#waiter = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
    });
  }

  /** Closes (if still open) and waits for the close event. */
  async close(code = 1000, reason = ""): Promise<CloseEvent> {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    return await this.closed;
  }
}

/** Resolves with the first value pushed, or waits for one. */
export class Inbox<T> {
  readonly #items: T[] = [];
  readonly #waiters: ((item: T) => void)[] = [];

  push(item: T): void {
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter(item);
    else this.#items.push(item);
  }

  next(ms = 5000): Promise<T> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(new Error(`nothing arrived within ${ms} ms`));
      }, ms);
      const waiter = (item: T) => {
        clearTimeout(timer);
        resolve(item);
      };
      this.#waiters.push(waiter);
    });
  }
}

/** Waits until `predicate()` is true, polling, or throws after `ms`. */
export async function waitFor(
  predicate: () => boolean,
  ms = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
