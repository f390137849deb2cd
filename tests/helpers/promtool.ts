/** Debian's `promtool` (package `prometheus`) as the judge of metrics text. */

import { fileExists, peerAvailable } from "./peers.ts";

/** Where Debian's `prometheus` package installs promtool. */
export const promtoolPath = "/usr/bin/promtool";

/** Whether the promtool tests run (see `peerAvailable`). */
export function hasPromtool(): boolean {
  return peerAvailable(
    "promtool",
    fileExists(promtoolPath),
    "apt-get install prometheus",
  );
}

/**
 * Runs `promtool check metrics` on `text`: exit code 0 and no output means
 * the exposition parses and passes its lint rules.
 */
export async function promtoolCheck(
  text: string,
): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(promtoolPath, {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}
