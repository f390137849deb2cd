import { concat, hex } from "../helpers/bytes.ts";
/**
 * The UTF-8 test sequences of Autobahn's cases 6.5 to 6.23, after Markus
 * Kuhn's UTF-8 decoder stress test: each category is a list of byte strings,
 * with whether they are valid UTF-8. Validity of the prefixes and of the
 * generated sequences is computed with a strict `TextDecoder`.
 *
 * @module
 */

/** A sequence and whether it is valid, complete UTF-8. */
export interface Utf8Vector {
  readonly valid: boolean;
  readonly bytes: Uint8Array;
}

/** A category of vectors, as one Autobahn sub-section. */
export interface Utf8Category {
  readonly title: string;
  readonly vectors: readonly Utf8Vector[];
}

const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Whether `bytes` are valid, complete UTF-8. */
export function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const valid = (text: string): Utf8Vector => ({ valid: true, bytes: hex(text) });
const invalid = (text: string): Utf8Vector => ({
  valid: false,
  bytes: hex(text),
});
const ascii = (text: string) =>
  [...text].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");

/** "κόσμε" */
export const KOSME = "cebae1bdb9cf83cebcceb5";

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

const missingLast = [
  "c0",
  "e080",
  "f08080",
  "f8808080",
  "fc80808080",
  "df",
  "efbf",
  "f7bfbf",
  "fbbfbfbf",
  "fdbfbfbfbf",
];

function nonCharacters(): Utf8Vector[] {
  const out = [valid("efbfbe"), valid("efbfbf")];
  for (const z1 of ["f0", "f1", "f2", "f3", "f4"]) {
    for (const z2 of ["8f", "9f", "af", "bf"]) {
      if (z1 === "f4" && z2 !== "8f") continue;
      for (const z3 of ["be", "bf"]) {
        const zz = z1 + z2 + "bf" + z3;
        if (zz === "f08fbfbe" || zz === "f08fbfbf") continue;
        out.push(valid(zz));
      }
    }
  }
  return out;
}

/** Autobahn's categories, in order: the first is 6.5. */
export const UTF8_CATEGORIES: readonly Utf8Category[] = [
  {
    title: "Some valid UTF-8 sequences",
    vectors: [
      valid(ascii("hello") + "24" + ascii("world")),
      valid(ascii("hello") + "c2a2" + ascii("world")),
      valid(ascii("hello") + "e282ac" + ascii("world")),
      valid(ascii("hello") + "f0a4ada2" + ascii("world")),
      valid(KOSME),
    ],
  },
  {
    title: "All prefixes of a valid UTF-8 string with multi-byte code points",
    vectors: range(1, KOSME.length / 2 + 1).map((n) => {
      const bytes = hex(KOSME).subarray(0, n);
      return { valid: isValidUtf8(bytes), bytes };
    }),
  },
  {
    title: "First possible sequence of a certain length",
    vectors: [valid("00"), valid("c280"), valid("e0a080"), valid("f0908080")],
  },
  {
    title: "First possible sequence length 5/6 (invalid code points)",
    vectors: [invalid("f888808080"), invalid("fc8480808080")],
  },
  {
    title: "Last possible sequence of a certain length",
    vectors: [valid("7f"), valid("dfbf"), valid("efbfbf"), valid("f48fbfbf")],
  },
  {
    title: "Last possible sequence length 4/5/6 (invalid code points)",
    vectors: [
      invalid("f7bfbfbf"),
      invalid("fbbfbfbfbf"),
      invalid("fdbfbfbfbfbf"),
    ],
  },
  {
    title: "Other boundary conditions",
    vectors: [
      valid("ed9fbf"),
      valid("ee8080"),
      valid("efbfbd"),
      valid("f48fbfbf"),
      invalid("f4908080"),
    ],
  },
  {
    title: "Unexpected continuation bytes",
    vectors: [
      invalid("80"),
      invalid("bf"),
      invalid("80bf"),
      invalid("80bf80"),
      invalid("80bf80bf"),
      invalid("80bf80bf80"),
      invalid("80bf80bf80bf"),
      {
        valid: false,
        bytes: new Uint8Array(range(0x80, 0xbf)),
      },
    ],
  },
  {
    title: "Lonely start characters",
    vectors: [[0xc0, 0xdf], [0xe0, 0xef], [0xf0, 0xf7], [0xf8, 0xfb], [
      0xfc,
      0xfd,
    ]].map(([from, to]) => ({
      valid: false,
      bytes: new Uint8Array(range(from!, to!).flatMap((byte) => [byte, 0x20])),
    })),
  },
  {
    title: "Sequences with last continuation byte missing",
    vectors: missingLast.map(invalid),
  },
  {
    title: "Concatenation of incomplete sequences",
    vectors: [{ valid: false, bytes: concat(missingLast.map(hex)) }],
  },
  {
    title: "Impossible bytes",
    vectors: [invalid("fe"), invalid("ff"), invalid("fefeffff")],
  },
  {
    title: "Examples of an overlong ASCII character",
    vectors: [
      invalid("c0af"),
      invalid("e080af"),
      invalid("f08080af"),
      invalid("f8808080af"),
      invalid("fc80808080af"),
    ],
  },
  {
    title: "Maximum overlong sequences",
    vectors: [
      invalid("c1bf"),
      invalid("e09fbf"),
      invalid("f08fbfbf"),
      invalid("f887bfbfbf"),
      invalid("fc83bfbfbfbf"),
    ],
  },
  {
    title: "Overlong representation of the NUL character",
    vectors: [
      invalid("c080"),
      invalid("e08080"),
      invalid("f0808080"),
      invalid("f880808080"),
      invalid("fc8080808080"),
    ],
  },
  {
    title: "Single UTF-16 surrogates",
    vectors: [
      invalid("eda080"),
      invalid("edadbf"),
      invalid("edae80"),
      invalid("edafbf"),
      invalid("edb080"),
      invalid("edbe80"),
      invalid("edbfbf"),
    ],
  },
  {
    title: "Paired UTF-16 surrogates",
    vectors: [
      invalid("eda080edb080"),
      invalid("eda080edbfbf"),
      invalid("edadbfedb080"),
      invalid("edadbfedbfbf"),
      invalid("edae80edb080"),
      invalid("edae80edbfbf"),
      invalid("edafbfedb080"),
      invalid("edafbfedbfbf"),
    ],
  },
  {
    title: "Non-character code points (valid UTF-8)",
    vectors: nonCharacters(),
  },
  {
    title: "Unicode specials (i.e. replacement char)",
    vectors: [
      valid("efbfb9"),
      valid("efbfba"),
      valid("efbfbb"),
      valid("efbfbc"),
      valid("efbfbd"),
      valid("efbfbe"),
      valid("efbfbf"),
    ],
  },
];
