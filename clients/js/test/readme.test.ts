// The README's examples run as written (against dist/, which `npm test` builds first).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const readme = readFileSync(join(packageDir, "README.md"), "utf-8");
const examples = [...readme.slice(readme.indexOf("## Examples")).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

test("the README has its examples", () => {
  assert.ok(examples.length >= 5, `found ${examples.length} shell examples`);
});

examples.forEach((script, i) => {
  const first = script.split("\n").find((line) => line.includes("import"))?.trim() ?? `example ${i + 1}`;
  test(`README example ${i + 1} runs: ${first.slice(0, 60)}`, () => {
    const output = execFileSync("bash", ["-euo", "pipefail", "-c", script], { cwd: packageDir, encoding: "utf-8", timeout: 120_000 });
    assert.ok(output.trim().length > 0, "prints something");
    assert.ok(!/Error/.test(output), output);
  });
});
