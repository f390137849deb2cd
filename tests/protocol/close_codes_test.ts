import assert from "node:assert/strict";
import {
  isValidCloseCode,
  MAX_CLOSE_REASON_BYTES,
  validateClose,
} from "../../lib/protocol/close_codes.ts";

Deno.test("isValidCloseCode follows RFC 6455 section 7.4", () => {
  const valid = [1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 4999];
  const invalid = [
    0,
    999,
    1004,
    1005,
    1006,
    1015,
    1016,
    2999,
    5000,
    1000.5,
    NaN,
  ];
  for (const code of valid) {
    assert.equal(isValidCloseCode(code), true, `${code}`);
  }
  for (const code of invalid) {
    assert.equal(isValidCloseCode(code), false, `${code}`);
  }
});

Deno.test("validateClose returns the reason's bytes or throws RangeError", () => {
  assert.deepEqual(validateClose(1000, "ok"), new TextEncoder().encode("ok"));
  assert.equal(
    validateClose(1000, "x".repeat(MAX_CLOSE_REASON_BYTES)).length,
    123,
  );
  assert.throws(() => validateClose(1000, "x".repeat(124)), /124 UTF-8 bytes/);
  assert.throws(() => validateClose(1005, ""), /Invalid close code 1005/);
});
