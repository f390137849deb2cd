/**
 * Streaming UTF-8 validation for text messages (RFC 6455 section 8.1): a
 * deterministic automaton in the style of Björn Höhrmann's decoder that checks
 * bytes as they arrive and fails at the first byte that no continuation could
 * make valid (overlong forms, surrogates, code points past U+10FFFF, stray or
 * missing continuation bytes).
 *
 * @module
 */

// Byte classes: bytes that the automaton treats alike.
const ASCII = 0; // 00..7F
const CONT_LOW = 1; // 80..8F
const CONT_MID = 2; // 90..9F
const CONT_HIGH = 3; // A0..BF
const NEVER = 4; // C0, C1 (always overlong), F5..FF (past U+10FFFF)
const LEAD2 = 5; // C2..DF
const LEAD3_E0 = 6; // E0: second byte A0..BF, else overlong
const LEAD3 = 7; // E1..EC, EE, EF
const LEAD3_ED = 8; // ED: second byte 80..9F, else a surrogate
const LEAD4_F0 = 9; // F0: second byte 90..BF, else overlong
const LEAD4 = 10; // F1..F3
const LEAD4_F4 = 11; // F4: second byte 80..8F, else past U+10FFFF
const CLASSES_COUNT = 12;

// States are stored premultiplied by the class count so that a transition is
// one addition and one lookup.
const ACCEPT = 0; // between characters
const REJECT = 1 * CLASSES_COUNT; // invalid: stays here
const NEED1 = 2 * CLASSES_COUNT; // one continuation byte to go
const NEED2 = 3 * CLASSES_COUNT;
const NEED3 = 4 * CLASSES_COUNT;
const AFTER_E0 = 5 * CLASSES_COUNT;
const AFTER_ED = 6 * CLASSES_COUNT;
const AFTER_F0 = 7 * CLASSES_COUNT;
const AFTER_F4 = 8 * CLASSES_COUNT;
const STATES_COUNT = 9;

// ASCII bytes seen one by one before switching to 4 at a time, and bytes
// that must remain for the switch to pay.
const ASCII_PROBE = 16;

const CLASS_OF = new Uint8Array(256);
const NEXT = new Uint8Array(STATES_COUNT * CLASSES_COUNT).fill(REJECT);

function classify(from: number, to: number, byteClass: number): void {
  CLASS_OF.fill(byteClass, from, to + 1);
}
classify(0x00, 0x7f, ASCII);
classify(0x80, 0x8f, CONT_LOW);
classify(0x90, 0x9f, CONT_MID);
classify(0xa0, 0xbf, CONT_HIGH);
classify(0xc0, 0xc1, NEVER);
classify(0xc2, 0xdf, LEAD2);
classify(0xe0, 0xe0, LEAD3_E0);
classify(0xe1, 0xef, LEAD3);
classify(0xed, 0xed, LEAD3_ED);
classify(0xf0, 0xf0, LEAD4_F0);
classify(0xf1, 0xf3, LEAD4);
classify(0xf4, 0xf4, LEAD4_F4);
classify(0xf5, 0xff, NEVER);

function on(state: number, byteClasses: number[], next: number): void {
  for (const byteClass of byteClasses) NEXT[state + byteClass] = next;
}
const ANY_CONT = [CONT_LOW, CONT_MID, CONT_HIGH];
on(ACCEPT, [ASCII], ACCEPT);
on(ACCEPT, [LEAD2], NEED1);
on(ACCEPT, [LEAD3], NEED2);
on(ACCEPT, [LEAD4], NEED3);
on(ACCEPT, [LEAD3_E0], AFTER_E0);
on(ACCEPT, [LEAD3_ED], AFTER_ED);
on(ACCEPT, [LEAD4_F0], AFTER_F0);
on(ACCEPT, [LEAD4_F4], AFTER_F4);
on(NEED1, ANY_CONT, ACCEPT);
on(NEED2, ANY_CONT, NEED1);
on(NEED3, ANY_CONT, NEED2);
on(AFTER_E0, [CONT_HIGH], NEED1);
on(AFTER_ED, [CONT_LOW, CONT_MID], NEED1);
on(AFTER_F0, [CONT_MID, CONT_HIGH], NEED2);
on(AFTER_F4, [CONT_LOW], NEED2);

/**
 * Validates UTF-8 that arrives in pieces. State carries across
 * {@linkcode Utf8Validator.push} calls, so a character may be split anywhere;
 * {@linkcode Utf8Validator.finish} then checks that the text did not stop in
 * the middle of a character.
 *
 * @example A character split across two pieces
 * ```ts
 * import assert from "node:assert/strict";
 * import { Utf8Validator } from "@socketry/socketry/protocol";
 *
 * const validator = new Utf8Validator();
 * const euro = new TextEncoder().encode("€"); // 3 bytes
 * assert.equal(validator.push(euro.subarray(0, 1)), true);
 * assert.equal(validator.finish(), false); // stopped inside the character
 * validator.reset();
 * validator.push(euro.subarray(0, 1));
 * validator.push(euro.subarray(1));
 * assert.equal(validator.finish(), true);
 * ```
 */
export class Utf8Validator {
  #state = ACCEPT;

  /**
   * Checks the next bytes of the text. Returns `false` as soon as the text
   * can no longer be valid, whatever follows, and keeps returning `false`
   * until {@linkcode Utf8Validator.reset}.
   */
  push(bytes: Uint8Array): boolean {
    let state = this.#state;
    const length = bytes.length;
    // A view of the 4-byte aligned part, made once a long ASCII run shows,
    // to test 4 bytes at a time.
    let words: Uint32Array | undefined;
    const base = (4 - (bytes.byteOffset & 3)) & 3;
    let i = 0;
    while (i < length) {
      const byte = bytes[i]!;
      if (byte < 0x80 && state === ACCEPT) {
        // Fast path: runs of ASCII need no state change. Short runs, as in
        // non-Latin text, go byte by byte.
        const probe = Math.min(length, i + ASCII_PROBE);
        i++;
        while (i < probe && bytes[i]! < 0x80) i++;
        if (i === probe && length - i >= ASCII_PROBE) {
          words ??= new Uint32Array(
            bytes.buffer,
            bytes.byteOffset + base,
            (length - base) >>> 2,
          );
          while (((i - base) & 3) !== 0 && bytes[i]! < 0x80) i++;
          let w = (i - base) >>> 2;
          while (w < words.length && (words[w]! & 0x80808080) === 0) w++;
          i = Math.max(i, base + w * 4);
          while (i < length && bytes[i]! < 0x80) i++;
        }
        continue;
      }
      state = NEXT[state + CLASS_OF[byte]!]!;
      if (state === REJECT) break;
      i++;
    }
    this.#state = state;
    return state !== REJECT;
  }

  /**
   * Ends the text: returns whether everything pushed was valid and complete
   * (no character cut short), then resets for the next text.
   */
  finish(): boolean {
    const complete = this.#state === ACCEPT;
    this.#state = ACCEPT;
    return complete;
  }

  /** Forgets everything pushed so far, ready for a new text. */
  reset(): void {
    this.#state = ACCEPT;
  }
}
