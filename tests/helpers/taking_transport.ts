/**
 * An engine `Transport` with no network under it, for tests and benchmarks
 * that drive a writer or a socket by hand: every write is taken at once
 * (its `onWritten` called before `write()` returns), nothing is buffered,
 * nothing is ever read. Subclasses say what they keep of the writes.
 */

import type { Transport } from "../../lib/engine/transport.ts";

/** Takes every write at once; `kept()` sees each chunk first. */
export abstract class TakingTransport implements Transport {
  /** Called with each chunk written, before its `onWritten`. */
  protected abstract kept(chunk: Uint8Array): void;

  start(): void {}
  write(chunk: Uint8Array, onWritten?: () => void): void {
    this.kept(chunk);
    onWritten?.();
  }
  get bufferedAmount(): number {
    return 0;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  end(): void {}
  destroy(): void {}
}
