// spec/vectors/trust-records.json and trust-resolution.json (spec §9): this package implements
// protocol version 1's declaration only, so it must refuse every trust record explicitly as an
// unknown record type (spec §0.3), never misread one; the declarations in the resolution cases
// still load.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadRecord } from "../src/index.js";
import { ProtocolError } from "../src/errors.js";
import { text, throwsExactly, vectors } from "./helpers.js";

test("trust-records.json: every trust record is refused as an unknown type (spec §0.3)", () => {
  const file = vectors("trust-records.json");
  let valid = 0;
  for (const c of file.cases) {
    const entry = text(c["entry"] as string);
    if (c.result === "valid") {
      valid++;
      throwsExactly(() => loadRecord(entry), "RecordError", c.name);
    } else {
      assert.throws(() => loadRecord(entry), ProtocolError, c.name);
    }
  }
  assert.ok(valid >= 9);
});

test("trust-resolution.json: declarations load, trust records are refused", () => {
  const file = vectors("trust-resolution.json");
  let declarations = 0;
  for (const c of file.cases) {
    for (const e of c["entries"] as { entry: string }[]) {
      const entry = text(e.entry);
      if (e.entry.includes('"type":"declaration"')) {
        declarations++;
        loadRecord(entry);
      } else {
        throwsExactly(() => loadRecord(entry), "RecordError", c.name);
      }
    }
  }
  assert.ok(declarations >= 8);
});
