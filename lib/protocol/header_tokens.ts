/**
 * Comma-separated header values (RFC 9110 section 5.6.1): their items, and
 * whether one of them is a given token. Every handshake reads several of
 * these, so they run without regular expressions and without splitting a
 * value that holds a single item.
 *
 * @module
 */

/**
 * `value` without leading and trailing optional whitespace, which is SP
 * and HTAB only (RFC 9110 section 5.6.3): `String.trim` would also drop
 * U+00A0, which a header byte 0xA0 reads as.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { trimOws } from "./header_tokens.ts";
 *
 * assert.equal(trimOws(" \tUpgrade\t "), "Upgrade");
 * assert.equal(trimOws("\u00a0x"), "\u00a0x");
 * ```
 */
export function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

/**
 * The trimmed, non-empty items of a comma-separated header value (none
 * for an absent header).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { headerList } from "./header_tokens.ts";
 *
 * assert.deepEqual(headerList(" chat , ,superchat"), ["chat", "superchat"]);
 * assert.deepEqual(headerList(null), []);
 * ```
 */
export function headerList(value: string | null): string[] {
  if (value === null) return [];
  const items: string[] = [];
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end === -1) end = value.length;
    const item = trimOws(value.slice(start, end));
    if (item !== "") items.push(item);
    start = end + 1;
  }
  return items;
}

/**
 * Whether one item of a comma-separated header value is `token`, compared
 * case-insensitively; `token` must be given in lower case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { hasToken } from "./header_tokens.ts";
 *
 * assert.equal(hasToken("keep-alive, Upgrade", "upgrade"), true);
 * assert.equal(hasToken("upgrades", "upgrade"), false);
 * assert.equal(hasToken(null, "upgrade"), false);
 * ```
 */
export function hasToken(value: string | null, token: string): boolean {
  if (value === null) return false;
  let start = 0;
  while (start <= value.length) {
    let end = value.indexOf(",", start);
    if (end === -1) end = value.length;
    if (isItem(value, start, end, token)) return true;
    start = end + 1;
  }
  return false;
}

// Whether value[start, end), trimmed, is token in any case.
function isItem(
  value: string,
  start: number,
  end: number,
  token: string,
): boolean {
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  if (end - start !== token.length) return false;
  for (let i = 0; i < token.length; i++) {
    let code = value.charCodeAt(start + i);
    // ASCII upper case to lower case; tokens are ASCII (RFC 9110 5.6.2).
    if (code >= 65 && code <= 90) code += 32;
    if (code !== token.charCodeAt(i)) return false;
  }
  return true;
}

function isOws(code: number): boolean {
  return code === 32 || code === 9;
}
