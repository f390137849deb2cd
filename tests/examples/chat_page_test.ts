/**
 * The chat page in Chromium (playwright-core), on the native backend and
 * the engine: two pages in one room see each other's messages in `#log`,
 * `#members` counts them, the plot gets its numbers, a third page in
 * another room sees nothing, and `#status` reads `closed`, `open`, then
 * `reconnecting` once the server stops.
 *
 * Needs Debian's `chromium` (ignored without it unless SOCKETRY_REQUIRE_PEERS=1).
 */

import assert from "node:assert/strict";
import { type Browser, chromium, type Page } from "playwright-core";
import {
  chromiumArgs,
  chromiumPath,
  fileExists,
  peerAvailable,
} from "../helpers/peers.ts";
import { startChat } from "../helpers/chat.ts";
import { ARTIFACTS } from "../helpers/page.ts";

const runChromium = peerAvailable("chromium", fileExists(chromiumPath));

async function until(
  what: string,
  check: () => Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const text = (page: Page, selector: string) =>
  page.locator(selector).textContent();
const logLines = (page: Page) => page.locator("#log > *").allTextContents();

for (const args of [[], ["--backend", "engine", "--compression"]]) {
  Deno.test({
    name: `chat page${
      args.length > 0 ? ", engine with --compression" : ""
    }: two members see each other, members counted, rooms apart`,
    ignore: !runChromium,
    fn: async () => {
      const chat = await startChat(args);
      let browser: Browser | undefined;
      try {
        browser = await chromium.launch({
          executablePath: chromiumPath,
          args: [...chromiumArgs],
        });
        const errors: string[] = [];
        const open = async (room: string) => {
          const page = await browser!.newPage();
          page.on("pageerror", (error) => errors.push(String(error)));
          const response = await page.goto(`http://127.0.0.1:${chat.port}/`);
          assert.equal(response?.status(), 200);
          assert.equal(await page.inputValue("#room"), "lobby");
          assert.equal(await text(page, "#status"), "closed");
          await page.fill("#room", room);
          await page.click("#connect");
          await until(
            `${room} open`,
            async () => await text(page, "#status") === "open",
          );
          return page;
        };
        const alice = await open("garden");
        const bob = await open("garden");
        const carol = await open("kitchen");
        // Counts arrive after the socket opens: wait for each page's.
        await until(
          "two members, and one in the kitchen",
          async () =>
            await text(alice, "#members") === "2" &&
            await text(bob, "#members") === "2" &&
            await text(carol, "#members") === "1",
        );

        await alice.fill("#message", "hello from alice");
        await alice.click("#send");
        await bob.fill("#message", "hi alice ✓");
        await bob.click("#send");
        const expected = ["hello from alice", "hi alice ✓"];
        await until(
          "both lines on both pages",
          async () =>
            (await logLines(alice)).length === 2 &&
            (await logLines(bob)).length === 2,
        );
        assert.deepEqual(await logLines(alice), expected);
        assert.deepEqual(await logLines(bob), expected);
        assert.deepEqual(await logLines(carol), []);

        // The plot is fed once a second; it reports the 4 deliveries.
        await until(
          "deliveries plotted",
          async () => Number(await text(alice, "#rate")) > 0,
          5000,
        );
        assert.equal(await alice.locator("canvas#plot").count(), 1);

        await bob.close();
        await until(
          "one member left",
          async () => await text(alice, "#members") === "1",
        );
        await Deno.mkdir(ARTIFACTS, { recursive: true });
        await alice.screenshot({
          path: `${ARTIFACTS}chat_page${args.length > 0 ? "_engine" : ""}.png`,
          fullPage: true,
        });

        const { code } = await chat.stop();
        assert.equal(code, 0);
        // The page tries to come back once the server is gone.
        await until(
          "reconnecting",
          async () => await text(alice, "#status") === "reconnecting",
        );
        assert.deepEqual(errors, []);
      } finally {
        await browser?.close();
        await chat.stop().catch(() => {});
      }
    },
  });
}
