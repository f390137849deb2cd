/**
 * Type-checks the published package as a user's project sees it: the files
 * `deno publish` would ship are copied into a temporary package, and a
 * consumer project beside it runs `deno check` on every entry point
 *
 * - with `"nodeModulesDir": "manual"` and the newest `@types/node` on npm
 *   (what `npm install @types/node` gives a user today),
 * - with no `node_modules` at all (Deno supplies the Node types itself),
 * - with `"nodeModulesDir": "manual"` and no `@types/node`, for the entry
 *   points that must not need Node's types (the browser client and the
 *   protocol core).
 *
 *     deno run --allow-all scripts/check_types.ts    (part of deno task check)
 *
 * Needs npm (for `npm view` and `npm install`); nothing else from the network.
 *
 * @module
 */

import { cpSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Entry points that must type-check without any Node types. */
const NODE_FREE_ENTRIES: ReadonlySet<string> = new Set([
  "./browser",
  "./protocol",
]);

interface PackageConfig {
  readonly exports: Record<string, string>;
  readonly imports?: Record<string, string>;
  readonly publish: { readonly include: readonly string[] };
}

/** One consumer project and the entry points it imports. */
interface Case {
  readonly name: string;
  readonly config: Record<string, unknown>;
  readonly entries: readonly string[];
  /** npm packages installed into the project's `node_modules`. */
  readonly npm: readonly string[];
}

async function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<{ ok: boolean; output: string }> {
  const { success, stdout, stderr } = await new Deno.Command(command, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: success,
    output: decoder.decode(stdout) + decoder.decode(stderr),
  };
}

async function npmVersion(name: string): Promise<string> {
  const { ok, output } = await run("npm", ["view", name, "version"], ROOT);
  if (!ok) throw new Error(`npm view ${name} failed:\n${output}`);
  return output.trim();
}

/** npm packages the entry points import through the package's import map. */
function npmImports(config: PackageConfig): string[] {
  return Object.values(config.imports ?? {})
    .filter((target) => target.startsWith("npm:"))
    .map((target) => target.slice("npm:".length));
}

async function main(): Promise<number> {
  const config = JSON.parse(
    await Deno.readTextFile(`${ROOT}deno.json`),
  ) as PackageConfig;
  const work = await Deno.makeTempDir({ prefix: "socketry_types_" });
  try {
    const pkg = `${work}/package`;
    for (const path of config.publish.include) {
      cpSync(`${ROOT}${path}`, `${pkg}/${path}`, { recursive: true });
    }
    const typesNode = `@types/node@${await npmVersion("@types/node")}`;
    const entries = Object.keys(config.exports);
    // The package's import map travels with it on JSR; a consumer resolves
    // the same bare names through its own.
    const imports = config.imports ?? {};
    const cases: Case[] = [
      {
        name: `nodeModulesDir manual, ${typesNode}`,
        config: { nodeModulesDir: "manual", imports },
        entries,
        npm: [typesNode, ...npmImports(config)],
      },
      {
        name: "no node_modules (Deno's own Node types)",
        config: { imports },
        entries,
        npm: [],
      },
      {
        name: "nodeModulesDir manual, no @types/node",
        config: { nodeModulesDir: "manual" },
        entries: entries.filter((entry) => NODE_FREE_ENTRIES.has(entry)),
        npm: [],
      },
    ];
    let failed = 0;
    for (const [index, item] of cases.entries()) {
      const dir = `${work}/consumer_${index}`;
      await Deno.mkdir(dir);
      await Deno.writeTextFile(
        `${dir}/deno.json`,
        JSON.stringify(item.config, null, 2),
      );
      const files: string[] = [];
      for (const entry of item.entries) {
        const file = `main_${files.length}.ts`;
        const target = `../package/${config.exports[entry]!.slice(2)}`;
        await Deno.writeTextFile(
          `${dir}/${file}`,
          `export * from ${JSON.stringify(target)};\n`,
        );
        files.push(file);
      }
      if (item.npm.length > 0) {
        await Deno.writeTextFile(`${dir}/package.json`, '{ "private": true }');
        const install = await run("npm", [
          "install",
          "--no-audit",
          "--no-fund",
          "--ignore-scripts",
          ...item.npm,
        ], dir);
        if (!install.ok) {
          throw new Error(`npm install failed:\n${install.output}`);
        }
      }
      const check = await run(Deno.execPath(), ["check", ...files], dir);
      const what = `${item.name}: ${item.entries.join(", ")}`;
      if (check.ok) console.log(`ok    ${what}`);
      else {
        failed++;
        console.log(`FAIL  ${what}\n${check.output}`);
      }
    }
    return failed === 0 ? 0 : 1;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) Deno.exit(await main());
