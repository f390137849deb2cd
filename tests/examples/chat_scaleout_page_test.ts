/**
 * The chat page in Chromium on two chat processes that share one real
 * Redis (one native, one engine): a page on each, in one room, sees the
 * other's line, counts both members and plots the deliveries of the whole
 * room.
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
import { type ChatServer, startChat } from "../helpers/chat.ts";
import { ARTIFACTS } from "../helpers/page.ts";
import { startRedis } from "../backplane/redis_server.ts";

const runChromium = peerAvailable("chromium", fileExists(chromiumPath));

/** Waits until the element's text is `expected`. */
async function shows(page: Page, selector: string, expected: string) {
  const deadline = Date.now() + 10_000;
  let shown: string | null;
  while ((shown = await page.locator(selector).textContent()) !== expected) {
    if (Date.now() > deadline) {
      throw new Error(`${selector} shows ${shown}, not ${expected}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test({
  name: "chat page on two processes sharing Redis: one room, counted whole",
  ignore: !runChromium,
  fn: async () => {
    const redis = await startRedis();
    const chats: ChatServer[] = [];
    let browser: Browser | undefined;
    try {
      chats.push(
        await startChat(["--redis", redis.url]),
        await startChat(["--redis", redis.url, "--backend", "engine"]),
      );
      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: [...chromiumArgs],
      });
      const errors: string[] = [];
      const open = async (chat: ChatServer) => {
        const page = await browser!.newPage();
        page.on("pageerror", (error) => errors.push(String(error)));
        await page.goto(`http://127.0.0.1:${chat.port}/`);
        await page.fill("#room", "garden");
        await page.click("#connect");
        await shows(page, "#status", "open");
        return page;
      };
      const alice = await open(chats[0]!);
      const bob = await open(chats[1]!);
      await shows(alice, "#members", "2");
      await shows(bob, "#members", "2");

      await alice.fill("#message", "hello from the other process");
      await alice.click("#send");
      for (const page of [alice, bob]) {
        await shows(page, "#log", "hello from the other process");
      }
      // Bob's process plots both deliveries, the one to Alice included.
      await shows(bob, "#rate", "2");

      await alice.close();
      await shows(bob, "#members", "1");
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await bob.screenshot({
        path: `${ARTIFACTS}chat_page_redis.png`,
        fullPage: true,
      });
      assert.deepEqual(errors, []);
    } finally {
      await browser?.close();
      const statuses = await Promise.all(chats.map((chat) => chat.stop()));
      await redis.stop();
      for (const { code } of statuses) assert.equal(code, 0);
    }
  },
});
