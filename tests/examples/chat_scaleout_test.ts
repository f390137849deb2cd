/**
 * examples/chat/main.ts scaled out, run as child processes with real
 * WebSocket clients: two chat processes on one real Redis (each backend)
 * form one chat, `--workers 2` serves one port from two isolates sharing
 * their rooms, both together, and a Redis that cannot be reached at
 * start-up stops the chat with a clear message.
 */

import assert from "node:assert/strict";
import {
  chatCommand,
  ChatMember,
  type ChatServer,
  startChat,
} from "../helpers/chat.ts";
import { runPeer } from "../helpers/processes.ts";
import { rawHttp } from "../helpers/raw.ts";
import { freePort, startRedis } from "../backplane/redis_server.ts";

const PER_SENDER = 200;

/** Stops every chat, asserting a clean exit. */
async function stopAll(chats: ChatServer[]): Promise<void> {
  const statuses = await Promise.all(chats.map((chat) => chat.stop()));
  statuses.forEach(({ code }, i) => assert.equal(code, 0, chats[i]!.output()));
}

/**
 * Every sender sends `PER_SENDER` numbered lines (and one text starting
 * with NUL); every member must get each line once, one sender's in order,
 * and with `oneOrder` the numbered lines in the same order as every other
 * member (the NUL lines go to two groups, watchers and the others, whose
 * orders are their own).
 */
async function exchange(
  senders: ChatMember[],
  members: ChatMember[],
  oneOrder = false,
) {
  const expected = senders.length * (PER_SENDER + 1);
  const orders: string[][] = [];
  senders.forEach((sender, s) => {
    for (let i = 0; i < PER_SENDER; i++) sender.send(`${s}:${i}`);
    sender.send(`\u0000${s}:nul`);
  });
  for (const member of members) {
    const lines = await member.lines(expected, 15_000);
    orders.push(lines.filter((line) => !line.startsWith("\u0000")));
    const next = senders.map(() => 0);
    for (const line of lines) {
      if (line.startsWith("\u0000")) {
        const s = Number(line.slice(1, line.indexOf(":")));
        assert.equal(next[s], PER_SENDER, `${member.name}: NUL line early`);
        next[s] = PER_SENDER + 1;
        continue;
      }
      const [s, i] = line.split(":").map(Number) as [number, number];
      assert.equal(i, next[s], `${member.name}: sender ${s} out of order`);
      next[s]!++;
    }
    assert.deepEqual(next, senders.map(() => PER_SENDER + 1));
  }
  if (oneOrder) {
    orders.forEach((order, i) =>
      assert.deepEqual(order, orders[0], `${members[i]!.name}: another order`)
    );
  }
  // Nothing more (no duplicate) arrives.
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const member of members) {
    assert.equal(member.extraLines(), 0, `${member.name}: more than once`);
  }
}

/** The open sockets reported by `/metrics` on a fresh connection. */
async function openSockets(port: number): Promise<number> {
  const { body } = await rawHttp(
    port,
    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
  );
  const line = /^socketry_connections_open (\d+)$/m.exec(body);
  assert.ok(line !== null, body);
  return Number(line[1]);
}

for (const backend of ["native", "engine"]) {
  Deno.test(`chat --redis, ${backend}: two processes on one Redis are one chat, each line once and in one order for all, counts of the whole room, one stopping while the other goes on`, async () => {
    const redis = await startRedis();
    const chats: ChatServer[] = [];
    const members: ChatMember[] = [];
    try {
      const args = ["--backend", backend, "--redis", redis.url];
      chats.push(await startChat(args), await startChat(args));
      const [a, b] = chats as [ChatServer, ChatServer];
      const watchA = await ChatMember.open("watcher on 1", a, "r", true);
      const watchB = await ChatMember.open("watcher on 2", b, "r", true);
      const plainA = await ChatMember.open("member on 1", a, "r");
      const plainB = await ChatMember.open("member on 2", b, "r");
      const elsewhere = await ChatMember.open("other room on 2", b, "s");
      members.push(watchA, watchB, plainA, plainB, elsewhere);
      // Each process counts the other's members: both are subscribed.
      await watchA.members(4);
      await watchB.members(4);

      await exchange(
        [plainA, plainB, watchB],
        [watchA, watchB, plainA, plainB],
        true,
      );
      assert.equal(elsewhere.extraLines(), 0, "another room got lines");
      // Watchers see the NUL lines escaped, the others as sent.
      assert.ok(watchA.received.includes("\u0000\u00001:nul"));
      assert.ok(plainA.received.includes("\u00001:nul"));
      // Deliveries count every member of the room in both processes.
      const deliveries = 3 * (PER_SENDER + 1) * 4;
      await watchA.deliveries(deliveries);
      await watchB.deliveries(deliveries);

      await plainB.close();
      await watchA.members(3);
      // One process stops: its members get 1001, the other goes on alone.
      const { code } = await a.stop();
      assert.equal(code, 0, a.output());
      for (const member of [watchA, plainA]) {
        assert.equal((await member.closed).code, 1001);
      }
      await watchB.members(1);
      watchB.send("still here");
      assert.deepEqual(await watchB.lines(1), ["still here"]);
    } finally {
      await Promise.all(members.map((member) => member.close()));
      await stopAll(chats);
      await redis.stop();
    }
  });
}

for (const backend of ["native", "engine"]) {
  Deno.test(`chat --workers 2, ${backend}: two isolates on one port, connections on both, one chat, SIGTERM closes all with 1001`, async () => {
    const chat = await startChat(["--workers", "2", "--backend", backend]);
    const members: ChatMember[] = [];
    try {
      const watcher = await ChatMember.open("watcher", chat, "r", true);
      members.push(watcher);
      for (let i = 0; i < 11; i++) {
        members.push(await ChatMember.open(`member ${i}`, chat, "r"));
      }
      await watcher.members(12);
      // A scrape lands on one isolate: holding some of the 12 sockets but not
      // all of them, it proves the others are on the other isolate.
      const held = await openSockets(chat.port);
      assert.ok(held > 0 && held < 12, `one isolate holds ${held} of 12`);
      await exchange(members.slice(1, 5), members, true);
      // SIGTERM stops both isolates gracefully: every socket gets 1001.
      const { code } = await chat.stop();
      assert.equal(code, 0, chat.output());
      for (const member of members) {
        assert.equal((await member.closed).code, 1001, member.name);
      }
    } finally {
      await Promise.all(members.map((member) => member.close()));
      await stopAll([chat]);
    }
    assert.match(chat.output(), /Shut down after \d+ socket\(s\) completed/);
  });
}

Deno.test("chat --workers 2 --redis beside a single chat process on the same Redis", async () => {
  const redis = await startRedis();
  const chats: ChatServer[] = [];
  const members: ChatMember[] = [];
  try {
    chats.push(
      await startChat(["--workers", "2", "--redis", redis.url]),
      await startChat(["--backend", "engine", "--redis", redis.url]),
    );
    const [workers, single] = chats as [ChatServer, ChatServer];
    const watcher = await ChatMember.open("watcher", single, "r", true);
    members.push(watcher);
    for (let i = 0; i < 6; i++) {
      members.push(await ChatMember.open(`worker member ${i}`, workers, "r"));
    }
    members.push(await ChatMember.open("single member", single, "r"));
    await watcher.members(8);
    await exchange([members[1]!, members.at(-1)!], members, true);
  } finally {
    await Promise.all(members.map((member) => member.close()));
    await stopAll(chats);
    await redis.stop();
  }
});

/** Runs the chat with `args` (on `port`, a free one by default) until it exits by itself. */
function runChat(
  args: string[],
  port = freePort(),
): ReturnType<typeof runPeer> {
  return runPeer(Deno.execPath(), chatCommand(port, args), 30_000);
}

for (const workers of [[], ["--workers", "2"]]) {
  Deno.test(`chat ${[...workers, "--redis"].join(" ")}: a Redis that cannot be reached stops it with a clear message`, async () => {
    const port = freePort(); // Nothing listens there.
    const { code, stdout, stderr } = await runChat([
      "--redis",
      `redis://127.0.0.1:${port}`,
      ...workers,
    ]);
    assert.equal(code, 1, stdout + stderr);
    assert.match(
      stderr,
      new RegExp(`^Cannot reach Redis at redis://127\\.0\\.0\\.1:${port} \\(`),
    );
    assert.match(stderr, /ECONNREFUSED/);
    assert.doesNotMatch(stderr, /^\s+at /m, "a stack trace");
    assert.doesNotMatch(stdout, /Listening on/);
  });
}

Deno.test("chat --redis: a Redis that wants a password lets the chat in with the right one and stops it at once, with a clear message, without", async () => {
  const redis = await startRedis(freePort(), ["--requirepass", "s3cret"]);
  const port = new URL(redis.url).port;
  try {
    const chat = await startChat([
      "--redis",
      `redis://:s3cret@127.0.0.1:${port}`,
    ]);
    const member = await ChatMember.open("member", chat, "r", true);
    await member.members(1);
    await member.close();
    assert.equal((await chat.stop()).code, 0, chat.output());
    for (const url of [`redis://:wrong@127.0.0.1:${port}`, redis.url]) {
      const started = performance.now();
      const { code, stdout, stderr } = await runChat(["--redis", url]);
      assert.equal(code, 1, stdout + stderr);
      assert.match(
        stderr,
        /^Redis at redis:\/\/.*127\.0\.0\.1:\d+\/? refused the credentials \((WRONGPASS|NOAUTH) .*\)\. Give its user and password in --redis/,
      );
      assert.doesNotMatch(stderr, /:wrong@/, "the password is not shown");
      assert.ok(
        performance.now() - started < 4000,
        "it did not wait for the start-up timeout",
      );
      assert.doesNotMatch(stdout, /Listening on/);
    }
  } finally {
    await redis.stop();
  }
});

for (
  const args of [[], ["--backend", "engine"], ["--workers", "2"]]
) {
  Deno.test(`${["chat", ...args].join(" ")}: a port in use stops it with a clear message`, async () => {
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const { code, stdout, stderr } = await runChat(args, taken.addr.port);
      assert.equal(code, 1, stdout + stderr);
      assert.equal(
        stderr,
        `Cannot listen on 127.0.0.1:${taken.addr.port}: the address is in use (another server, or choose --port)\n`,
      );
      assert.doesNotMatch(stdout, /Listening on/);
    } finally {
      taken.close();
    }
  });
}
