/** Shared pieces of the tests that drive the echo page in Chromium. */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";

/** Where the browser tests save their screenshots. */
export const ARTIFACTS = fileURLToPath(
  new URL("../artifacts/", import.meta.url),
);

const PAGE_TIMEOUT = 10_000;

/** A port that was free a moment ago. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Reads a child's stream to its end into `sink.text`, calling `onText`. */
export async function drain(
  stream: ReadableStream<Uint8Array>,
  sink: { text: string },
  onText: () => void = () => {},
): Promise<void> {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    sink.text += chunk;
    onText();
  }
}

/**
 * Settles like `promise`, or rejects with `message()` after `ms` if it is
 * slower; the timer never outlives the race.
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  message: () => string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type Row = string[];

/** The Communication Log, one `[From, To, Data]` per row. */
export async function logRows(page: Page): Promise<Row[]> {
  const rows = await page.locator("#log tr").all();
  return await Promise.all(
    rows.map((row) => row.locator("td").allTextContents()),
  );
}

/**
 * Waits until the state reads `state` and the log has a row whose Data is
 * each of `data`; on timeout, fails with what the page shows instead.
 */
export async function waitForPage(
  page: Page,
  state: string,
  data: string[],
): Promise<void> {
  const deadline = Date.now() + PAGE_TIMEOUT;
  let shown: string | null = null;
  let cells: string[] = [];
  while (Date.now() < deadline) {
    shown = await page.locator("#state").textContent();
    cells = await page.locator("#log td.data").allTextContents();
    if (shown === state && data.every((text) => cells.includes(text))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `Page did not reach state ${JSON.stringify(state)} with log ${
      JSON.stringify(data)
    } within ${PAGE_TIMEOUT} ms: state is ${JSON.stringify(shown)}, log is ${
      JSON.stringify(await logRows(page), null, 1)
    }`,
  );
}

/**
 * Runs in the page (passed as a string, so no DOM typings are needed): opens
 * a second `WebSocket` to the sample, sends 1 MiB of text (1-, 3- and 4-byte
 * UTF-8 characters) and 1 MiB of bytes, compares the echoes, closes, and
 * returns a JSON summary.
 */

/**
 * Drives the echo page through one exchange: Connect, send `message`, see
 * it echoed, Close Socket; saves a screenshot named `screenshot` and asserts
 * the whole Communication Log (`url` is the socket URL the page shows).
 */
export async function echoOnce(
  page: Page,
  url: string,
  message: string,
  screenshot: string,
): Promise<void> {
  await page.click("#connect");
  await waitForPage(page, "Open", ["Connection opened"]);
  await page.fill("#message", message);
  await page.click("#send");
  await waitForPage(page, "Open", [
    `Sent: ${message}`,
    `Received: ${message}`,
  ]);
  await page.click("#close");
  const closed = "Connection closed. Code: 1000, Reason: Closing from client";
  await waitForPage(page, "Closed", [closed]);

  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}${screenshot}`, fullPage: true });
  assert.deepEqual(await logRows(page), [
    ["Client", "Server", `Connecting to ${url}`],
    ["Server", "Client", "Connection opened"],
    ["Client", "Server", `Sent: ${message}`],
    ["Server", "Client", `Received: ${message}`],
    ["Client", "Server", "Closing the socket (1000, Closing from client)"],
    ["Server", "Client", closed],
  ]);
}
