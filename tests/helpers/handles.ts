/**
 * A leak check for what `deno test`'s sanitizers do not see: node:net,
 * node:tls and node:http2 servers, sockets and sessions, and child-process
 * pipes, which `process.getActiveResourcesInfo()` does list (as
 * `TCPServerWrap`, `TCPSocketWrap`, `PipeWrap`...).
 *
 * @module
 */

import process from "node:process";

const NETWORK = /TCP|Pipe|TLS|UDP|Process|Http2/;

/** The network and pipe handles still open in this process. */
export function openHandles(): string[] {
  return process.getActiveResourcesInfo().filter((name) => NETWORK.test(name));
}

/**
 * Waits up to `ms` for every network and pipe handle to close (a closed
 * socket lets go of its handle on a later turn); throws, naming the ones
 * left, when some stay open.
 */
export async function assertNoOpenHandles(ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  let left = openHandles();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    left = openHandles();
  }
  if (left.length > 0) {
    throw new Error(
      `Handles still open ${ms} ms after teardown: ${JSON.stringify(left)}`,
    );
  }
}
