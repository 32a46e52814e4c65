// spec/vectors/batch-check.json (spec §6.8.4): every answer decodes to its items, every broken
// answer is refused with the error class Python's decode_answers raises.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeAnswers } from "../src/index.js";
import { hex, throwsClass, vectors } from "./helpers.js";

test("batch-check.json: valid answers decode to their items, broken ones are refused", () => {
  const file = vectors("batch-check.json");
  let valid = 0;
  let invalid = 0;
  for (const c of file.cases) {
    const answer = hex(c["answer"] as string);
    if ("error" in c) {
      throwsClass(() => decodeAnswers(answer, c["count"] as number), c["error"] as string, c.name);
      invalid++;
    } else {
      const items = c["items"] as unknown[];
      assert.deepEqual(decodeAnswers(answer, items.length), items, c.name);
      valid++;
    }
  }
  assert.ok(valid >= 4 && invalid >= 4);
});
