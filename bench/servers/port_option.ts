/**
 * The `--port` flag of the reference servers run by Deno or Bun: a port
 * number (0: one the system picks), or exit 2 with a message.
 *
 * @module
 */

import process from "node:process";

/**
 * The port `text` names; exits the process with status 2 when it names
 * none, saying so of `name` (the flag or argument that gave it).
 */
export function portOption(
  text: string | undefined,
  name = "--port",
): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`${name} must be a port number, got ${text}`);
    process.exit(2);
  }
  return port;
}
