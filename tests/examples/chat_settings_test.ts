import assert from "node:assert/strict";
import { parseChatArgs } from "../../examples/chat/settings.ts";

const REDIS = ["--redis", "redis://127.0.0.1:6379"];

function settingsOf(args: string[]) {
  const parsed = parseChatArgs(args);
  assert.equal(parsed.kind, "settings", JSON.stringify(parsed));
  return parsed.kind === "settings" ? parsed.settings : undefined!;
}

function errorOf(args: string[]): string {
  const parsed = parseChatArgs(args);
  assert.equal(parsed.kind, "error");
  return parsed.kind === "error" ? parsed.message : "";
}

Deno.test("chat settings: rooms shared through Redis or across workers have one order unless --room-order sender", () => {
  assert.equal(settingsOf(REDIS).totalOrder, true);
  assert.equal(
    settingsOf([...REDIS, "--room-order", "total"]).totalOrder,
    true,
  );
  assert.equal(
    settingsOf([...REDIS, "--room-order", "sender"]).totalOrder,
    false,
  );
  assert.equal(settingsOf([]).totalOrder, false);
  assert.equal(settingsOf(["--workers", "2"]).totalOrder, true);
  assert.equal(
    settingsOf(["--workers", "2", "--room-order", "sender"]).totalOrder,
    false,
  );
  assert.match(
    errorOf([...REDIS, "--room-order", "global"]),
    /--room-order must be total or sender, got global/,
  );
  assert.match(
    errorOf(["--room-order", "total"]),
    /--room-order needs --redis or --workers/,
  );
});
