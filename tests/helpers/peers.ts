/**
 * Test peers: external programs (a browser, Python's `websockets`, a Redis
 * server...) that some tests drive. A missing peer makes its tests ignored
 * with a notice, unless `SOCKETRY_REQUIRE_PEERS=1` is set (as in CI), where a
 * missing peer is an error that says how to install it.
 *
 *     const run = peerAvailable("chromium", fileExists(chromiumPath));
 *     Deno.test({ name: "...", ignore: !run, fn: async () => {...} });
 *
 * @module
 */

/** Where Debian's `chromium` package installs the browser. */
export const chromiumPath = "/usr/bin/chromium";

/**
 * The flags every test launches Chromium with: headless, no sandbox (tests
 * run as root in CI), nothing that reaches the network on its own, and no
 * QUIC, so that what it opens are the TCP connections under test.
 */
export const chromiumArgs: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Whether missing peers fail the tests instead of ignoring them. */
export function peersRequired(): boolean {
  return Deno.env.get("SOCKETRY_REQUIRE_PEERS") === "1";
}

/** Whether `path` exists (following symbolic links). */
export function fileExists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Whether the tests that need the peer `name` should run. Returns `exists`
 * when the peer is there; when it is missing, logs a notice and returns
 * `false`, or throws if {@linkcode peersRequired}.
 *
 * @param name The peer, as shown to the user.
 * @param exists Whether the peer was found.
 * @param install How to get it; by default `apt-get install <name>`.
 */
export function peerAvailable(
  name: string,
  exists: boolean,
  install = `apt-get install ${name}`,
): boolean {
  if (exists) return true;
  if (peersRequired()) {
    throw new Error(
      `Test peer ${name} is missing and SOCKETRY_REQUIRE_PEERS=1: ${install}`,
    );
  }
  console.warn(
    `%cNotice:%c test peer ${name} is missing, its tests are ignored (${install}; set SOCKETRY_REQUIRE_PEERS=1 to fail instead)`,
    "color: yellow; font-weight: bold",
    "",
  );
  return false;
}
