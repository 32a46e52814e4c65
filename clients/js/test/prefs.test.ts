// spec/vectors/content-usage.json and mapping.json (spec §3.3, §3.4)
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  MAPPING,
  combine,
  formatContentUsage,
  fromCawg,
  fromContentSignals,
  fromRobotsTags,
  fromTdmai,
  fromTdmrep,
  fromAiTxt,
  fromRsl,
  fromPlusDataMining,
  toAiTxt,
  toRsl,
  toPlusDataMining,
  parseContentUsage,
  parseRobotsContentUsage,
  toCawg,
  toContentSignals,
  toRobotsTags,
  toTdmai,
  toTdmrep,
} from "../src/index.js";
import { throwsExactly, vectors } from "./helpers.js";

test("content-usage.json: every case", () => {
  for (const c of vectors("content-usage.json").cases) {
    if (c.result === "invalid") throwsExactly(() => parseContentUsage(c["field"] as string), c.error!, c.name);
    else {
      const prefs = parseContentUsage(c["field"] as string);
      assert.deepEqual({ ...prefs }, c["prefs"], c.name);
      assert.deepEqual(Object.keys(prefs), Object.keys(prefs).sort(), c.name);
      assert.equal(formatContentUsage(prefs), c["canonical"], c.name);
      assert.deepEqual({ ...parseContentUsage(c["canonical"] as string) }, c["prefs"], c.name);
    }
  }
});

const importers: Record<string, (input: never) => unknown> = {
  tdmai: fromTdmai,
  cawg: fromCawg,
  tdmrep: fromTdmrep,
  robots: fromRobotsTags,
  "content-signals": fromContentSignals,
  "ai-txt": fromAiTxt,
  rsl: fromRsl,
  plus: fromPlusDataMining,
};

test("mapping.json: the table and every conversion", () => {
  const file = vectors("mapping.json");
  assert.deepEqual(
    MAPPING.map((r) => ({ ...r })),
    file["table"],
  );
  for (const c of file.cases) {
    if (c["direction"] === "import") {
      const run = () => importers[c["scheme"] as string]!(c["input"] as never);
      if (c.result === "invalid") throwsExactly(run, c.error!, c.name);
      else assert.deepEqual({ ...(run() as object) }, c["prefs"], c.name);
    } else {
      const prefs = c["prefs"] as Record<string, string>;
      if (c.result === "invalid") {
        for (const fn of [toTdmai, toCawg, toTdmrep, toRobotsTags, toContentSignals, toAiTxt, toRsl, toPlusDataMining]) {
          throwsExactly(() => fn(prefs), c.error!, c.name);
        }
        continue;
      }
      assert.deepEqual(toTdmai(prefs), c["tdmai"], c.name);
      assert.deepEqual(toCawg(prefs), c["cawg"], c.name);
      assert.deepEqual(toTdmrep(prefs), c["tdmrep"], c.name);
      assert.equal(toRobotsTags(prefs), c["robots"], c.name);
      assert.equal(toContentSignals(prefs), c["content-signals"], c.name);
      assert.equal(toAiTxt(prefs), c["ai-txt"], c.name);
      assert.deepEqual(toRsl(prefs), c["rsl"], c.name);
      assert.equal(toPlusDataMining(prefs), c["plus"], c.name);
    }
  }
});

test("combine: any disallow wins (spec §3.2); robots.txt rule (spec §3.3.2)", () => {
  assert.deepEqual({ ...combine([{ "train-ai": "y", x: "y" }, { "train-ai": "n" }]) }, { "train-ai": "n", x: "y" });
  throwsExactly(() => combine([{ a: "maybe" }]), "PreferenceError");
  const rule = parseRobotsContentUsage("/images/ train-ai=n # comment");
  assert.equal(rule.path, "/images/");
  assert.deepEqual({ ...rule.prefs }, { "train-ai": "n" });
  assert.equal(parseRobotsContentUsage("search=y").path, null);
});
