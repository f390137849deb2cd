import assert from "node:assert/strict";
import { isControl, Opcode } from "../../lib/protocol/opcodes.ts";

Deno.test("Opcode has the RFC 6455 values", () => {
  assert.deepEqual(
    [
      Opcode.Continuation,
      Opcode.Text,
      Opcode.Binary,
      Opcode.Close,
      Opcode.Ping,
      Opcode.Pong,
    ],
    [0, 1, 2, 8, 9, 10],
  );
});

Deno.test("isControl() is true for opcodes 8-15 only", () => {
  for (let opcode = 0; opcode < 16; opcode++) {
    assert.equal(isControl(opcode), opcode >= 8, `opcode ${opcode}`);
  }
});
