// spec/vectors/resolution.json (spec §3.5), in the listed order, reversed, and with duplicates
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConsentState, canonicalJson, decodeRecord, isReserved, type Declaration, type Subject } from "../src/index.js";
import { vectors } from "./helpers.js";

interface Listed {
  id: string;
  origin: string;
  record: unknown;
}
interface Expected {
  subject: Subject;
  claims: unknown[];
  prefs: Record<string, string>;
}

test("resolution.json: every case, in any order and with duplicates (spec §3.5.6)", () => {
  const file = vectors("resolution.json");
  for (const c of file.cases) {
    const listed = (c["declarations"] as Listed[]).map((d) => ({ ...d, record: decodeRecord(canonicalJson(d.record)) as Declaration }));
    for (const order of [listed, [...listed].reverse(), [...listed, ...listed]]) {
      const state = new ConsentState();
      for (const d of order) state.add(d.record, d.id, d.origin);
      const expected = c["expected"] as Expected[];
      assert.equal(state.subjects().length, expected.length, c.name);
      for (const e of expected) {
        const r = state.resolve(e.subject);
        assert.deepEqual(JSON.parse(JSON.stringify(r)), { claims: e.claims, prefs: e.prefs }, `${c.name}: ${e.subject[1]}`);
        assert.equal(isReserved(r), e.prefs["train-ai"] === "n");
      }
    }
  }
});
