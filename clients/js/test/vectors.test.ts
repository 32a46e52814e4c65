// Every file in spec/vectors/ and in the shared vectors is run by one of these tests.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { SHARED, VECTORS } from "./helpers.js";

const here = dirname(fileURLToPath(import.meta.url));
const sources = readdirSync(here)
  .filter((f) => f.endsWith(".test.ts") && f !== "vectors.test.ts")
  .map((f) => readFileSync(join(here, f), "utf-8"))
  .join("\n");

test("every spec/vectors/*.json file is loaded by a test", () => {
  const files = readdirSync(VECTORS).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 13);
  const missing = files.filter((f) => !sources.includes(`vectors("${f}")`));
  assert.deepEqual(missing, []);
});

test("every shared vector file is loaded by a test", () => {
  const files = readdirSync(SHARED).filter((f) => f.endsWith(".json"));
  assert.ok(files.length >= 3);
  const missing = files.filter((f) => !sources.includes(`"${f}"`));
  assert.deepEqual(missing, []);
});
