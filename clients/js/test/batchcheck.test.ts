// spec/vectors/batch-check.json (spec §6.8.4): every answer decodes to its items, every broken
// answer is refused with the error class Python's decode_answers raises; cases marked identity
// are read with { identity: true } (ADR 0023).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeAnswers } from "../src/index.js";
import { hex, throwsClass, vectors } from "./helpers.js";

test("batch-check.json: valid answers decode to their items, broken ones are refused", () => {
  const file = vectors("batch-check.json");
  let valid = 0;
  let invalid = 0;
  let withIdentity = 0;
  for (const c of file.cases) {
    const answer = hex(c["answer"] as string);
    const identity = c["identity"] === true;
    if (identity) withIdentity++;
    if ("error" in c) {
      throwsClass(() => decodeAnswers(answer, c["count"] as number, { identity }), c["error"] as string, c.name);
      invalid++;
    } else {
      const items = c["items"] as unknown[];
      assert.deepEqual(decodeAnswers(answer, items.length, { identity }), items, c.name);
      valid++;
    }
  }
  assert.ok(valid >= 4 && invalid >= 4 && withIdentity >= 6);
});

test("an answer with identity does not decode as one without, nor the reverse", () => {
  const file = vectors("batch-check.json");
  const hit = file.cases.find((c) => c.name === "identity: an unverified claim, counted");
  assert.ok(hit);
  const answer = hex(hit["answer"] as string);
  throwsClass(() => decodeAnswers(answer, 2), "EncodingError", "identity read without");
  const plain = file.cases.find((c) => c.name === "one reserved item among unknown ones");
  assert.ok(plain);
  throwsClass(() => decodeAnswers(hex(plain["answer"] as string), 3, { identity: true }), "EncodingError", "plain read with");
});
