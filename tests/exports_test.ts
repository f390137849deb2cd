// The entry points of deno.json: what each one loads (through `deno info`)
// and what each one exports (through `deno doc`), against what its module
// documentation promises.

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const PACKAGE = "@socketry/socketry";

/** Modules that `./server` and `./protocol` must not load. */
const FORBIDDEN = [
  "node:http",
  "node:http2",
  "node:net",
  "node:tls",
  "node:zlib",
];

const config: { exports: Record<string, string> } = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", ROOT)),
);
const entries = Object.entries(config.exports);

async function deno(...args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, `deno ${args.join(" ")}: ${decoder.decode(stderr)}`);
  return decoder.decode(stdout);
}

interface Graph {
  readonly modules: readonly { readonly specifier: string }[];
}

/** Every module the entry point loads, types included. */
async function graph(entry: string): Promise<string[]> {
  const info: Graph = JSON.parse(
    await deno("info", "--json", config.exports[entry]!),
  );
  return info.modules.map((module) => module.specifier);
}

interface DocJson {
  readonly nodes: Record<string, {
    readonly module_doc?: {
      readonly doc?: string;
      readonly tags?: readonly { readonly doc?: string }[];
    };
    readonly symbols: readonly { readonly name: string }[];
  }>;
}

/** What an entry point exports and says, according to `deno doc`. */
async function documented(
  entry: string,
): Promise<{ names: Set<string>; text: string }> {
  const doc: DocJson = JSON.parse(
    await deno("doc", "--json", config.exports[entry]!),
  );
  const [node] = Object.values(doc.nodes);
  assert.ok(node !== undefined, `deno doc found no module for ${entry}`);
  const moduleDoc = node.module_doc ?? {};
  const text = [
    moduleDoc.doc ?? "",
    ...(moduleDoc.tags ?? []).map((tag) => tag.doc ?? ""),
  ].join("\n");
  return { names: new Set(node.symbols.map((symbol) => symbol.name)), text };
}

/** The names the text links to, and those its examples import from `entry`. */
function promised(entry: string, text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name] of text.matchAll(/\{@linkcode ([\w$]+)\}/g)) {
    names.add(name!);
  }
  const specifier = entry === "." ? PACKAGE : `${PACKAGE}/${entry.slice(2)}`;
  const imports = /import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g;
  for (const [, list, from] of text.matchAll(imports)) {
    if (from !== specifier) continue;
    for (const item of list!.split(",")) {
      const name = item.trim().replace(/^type\s+/, "");
      if (name !== "") names.add(name);
    }
  }
  return names;
}

// Block comments, and line comments that do not follow a `:` (as in URLs).
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, "").replace(
    /(^|[^:])\/\/.*$/gm,
    "$1",
  );
}

Deno.test("deno.json lists every entry point, each a module file", () => {
  assert.deepEqual(Object.keys(config.exports).sort(), [
    ".",
    "./browser",
    "./client",
    "./cookies",
    "./engine",
    "./hono",
    "./protocol",
    "./redis",
    "./server",
  ]);
});

Deno.test("only ./redis, ./hono and ./cookies load npm packages", async () => {
  for (const [entry] of entries) {
    if (["./redis", "./hono", "./cookies"].includes(entry)) continue;
    const npm = (await graph(entry)).filter((specifier) =>
      specifier.startsWith("npm:") || specifier.includes("/node_modules/")
    );
    assert.deepEqual(npm, [], `${entry} loads npm packages`);
  }
});

for (const entry of ["./server", "./protocol"]) {
  Deno.test(`${entry} loads no node networking, zlib or npm module`, async () => {
    const modules = await graph(entry);
    for (const name of FORBIDDEN) {
      assert.ok(!modules.includes(name), `${entry} loads ${name}`);
    }
    const npm = modules.filter((specifier) =>
      specifier.startsWith("npm:") || specifier.includes("/node_modules/")
    );
    assert.deepEqual(npm, [], `${entry} loads npm packages`);
  });
}

Deno.test("./hono loads no node networking or zlib module (it runs on Deno.serve)", async () => {
  const modules = await graph("./hono");
  for (const name of FORBIDDEN) {
    assert.ok(!modules.includes(name), `./hono loads ${name}`);
  }
});

Deno.test("./server loads the middleware, accept, the native socket and the processor", async () => {
  const modules = await graph("./server");
  for (
    const file of [
      "lib/server/middleware.ts",
      "lib/server/accept.ts",
      "lib/native.ts",
      "lib/processor.ts",
    ]
  ) {
    assert.ok(modules.includes(new URL(file, ROOT).href), `missing ${file}`);
  }
});

Deno.test("./protocol loads no node: module and uses no Deno API", async () => {
  const modules = await graph("./protocol");
  assert.deepEqual(
    modules.filter((specifier) => !specifier.startsWith("file:")),
    [],
  );
  for (const specifier of modules) {
    const source = withoutComments(await Deno.readTextFile(new URL(specifier)));
    assert.ok(!/\bDeno\./.test(source), `${specifier} uses Deno`);
  }
});

for (const [entry] of entries) {
  Deno.test(`${entry} exports what its module documentation names`, async () => {
    const { names, text } = await documented(entry);
    assert.ok(/```ts/.test(text), `${entry} has no example`);
    const missing = [...promised(entry, text)].filter((name) =>
      !names.has(name)
    );
    assert.deepEqual(missing, [], `${entry} does not export ${missing}`);
  });
}

Deno.test('"." exports everything of ./server, ./engine, ./client and ./protocol', async () => {
  const { names: all } = await documented(".");
  for (const entry of ["./server", "./engine", "./client", "./protocol"]) {
    const { names } = await documented(entry);
    const missing = [...names].filter((name) => !all.has(name));
    assert.deepEqual(missing, [], `"." lacks ${entry}'s ${missing}`);
  }
});
