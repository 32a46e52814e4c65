// The PDQ hashes of crops (spec §2.4 pdq_variants) and the query hashes of the recommended check
// (spec §6.8.3 item 6) in TypeScript against the Python SDK's, on the same generated pixels:
// Pillow scales the image there, thumbnailLanczos here; every hash and distance must be equal.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  declaredPdqVariants,
  pdqDeclaredQualityStands,
  pdqDistance,
  pdqHash,
  pdqQueryByDistance,
  pdqQueryHashes,
  pdqStandingMatches,
  pdqVariants,
  thumbnailLanczos,
  trimBorder,
  type PdqQuery,
} from "../src/index.js";
import { fixture } from "./helpers.js";
import { generatedRgba } from "./images.js";

interface Answers {
  pdq_variants_generated: {
    kind: string;
    width: number;
    height: number;
    variants: string[];
    query: PdqQuery;
    own: { pdq: string; quality: number };
    query_with_own: PdqQuery;
  }[];
  pdq_standing: { kind: string; width: number; height: number; query: PdqQuery; declared: string[]; matches: boolean; unconfirmed: boolean }[];
}
const answers = fixture<Answers>("python-answers.json");

for (const a of answers.pdq_variants_generated) {
  const label = `${a.kind} ${a.width}x${a.height}`;
  const image = { width: a.width, height: a.height, data: generatedRgba(a.kind, a.width, a.height) };

  test(`pdq_variants of ${label} are the SDK's`, () => {
    assert.deepEqual(pdqVariants(image), a.variants);
  });

  test(`the query hashes of ${label}, their distances, standing rules and flips' crops are the SDK's, in its order`, () => {
    assert.deepEqual(pdqQueryHashes(image), a.query);
  });

  test(`the query hashes of ${label} with its own PDQ first are the SDK's pdq_query_of_bytes`, () => {
    assert.deepEqual(pdqQueryHashes(image, { hash: a.own.pdq, quality: a.own.quality }), a.query_with_own);
  });
}

test("the fixture covers scaling with and without a reduction, the border trim and weak hashes", () => {
  const sizes = answers.pdq_variants_generated.map((a) => Math.max(a.width, a.height));
  assert.ok(sizes.some((s) => s <= 256) && sizes.some((s) => s > 512 && s < 1024) && sizes.some((s) => s >= 1536));
  const distances = new Set(answers.pdq_variants_generated.flatMap((a) => a.query.asks.map(([, d]) => d)));
  for (const d of [31, 26, 16]) assert.ok(distances.has(d), `distance ${d} asked`);
  const alone = new Set(answers.pdq_variants_generated.flatMap((a) => a.query.alone.map(([, d]) => d)));
  for (const d of [8, -1]) assert.ok(alone.has(d), `standing distance ${d}`);
  assert.ok(answers.pdq_variants_generated.some((a) => a.query.confirm.some(([, crops]) => crops.length === 9)));
  assert.ok(answers.pdq_variants_generated.some((a) => a.own.quality < 70));
  const framed = answers.pdq_variants_generated.find((a) => a.kind === "framed")!;
  const small = thumbnailLanczos({ width: framed.width, height: framed.height, data: generatedRgba("framed", framed.width, framed.height) }, 256);
  assert.notEqual(trimBorder(small).width, small.width);
});

test("declared variants leave out the work's own hash, and all of them below quality 50", () => {
  const a = answers.pdq_variants_generated.find((x) => x.variants.length > 1)!;
  const image = { width: a.width, height: a.height, data: generatedRgba(a.kind, a.width, a.height) };
  const variants = pdqVariants(image);
  assert.deepEqual(declaredPdqVariants(image, variants[0]!, 100), variants.slice(1));
  assert.deepEqual(declaredPdqVariants(image, pdqHash(image).hash, 49), []);
  assert.ok(variants.length <= 16);
});

test("query hashes group by distance, each hash once", () => {
  const a = answers.pdq_variants_generated[0]!;
  const query = pdqQueryHashes({ width: a.width, height: a.height, data: generatedRgba(a.kind, a.width, a.height) });
  const grouped = pdqQueryByDistance(query);
  const all = [...grouped.values()].flat();
  assert.equal(all.length, query.asks.length);
  assert.equal(new Set(all).size, all.length);
});

// A query by hand: own hash O, a flip F with crops C1..C3, a cut K (spec §6.8.3 item 6).
const [O, F, C1, C2, C3, K] = ["0", "f", "1", "2", "3", "c"].map((c) => c.repeat(64)) as [string, string, string, string, string, string];
const handQuery: PdqQuery = {
  pdq: O,
  asks: [
    [O, 31],
    [F, 31],
    [C1, 26],
    [C2, 26],
    [C3, 26],
    [K, 26],
  ],
  alone: [
    [F, 8],
    [C1, -1],
    [C2, -1],
    [C3, -1],
  ],
  confirm: [[F, [C1, C2, C3]]],
};
const m = (sha256: string, distance: number) => ({ sha256, distance });

test("a flip's match beyond 8 bits stands only with 2 of its crops matching the same work; crops never alone", () => {
  const answers = new Map([
    [O, []],
    [F, [m("a", 5), m("b", 20), m("c", 20)]],
    [C1, [m("b", 10), m("c", 3)]],
    [C2, [m("b", 25)]],
    [C3, [m("d", 1)]],
    [K, [m("e", 26)]],
  ]);
  const kept = pdqStandingMatches(handQuery, answers);
  assert.deepEqual(kept.get(F), [m("a", 5), m("b", 20)]);
  assert.deepEqual([kept.get(C1), kept.get(C2), kept.get(C3)], [[], [], []]);
  assert.deepEqual(kept.get(K), [m("e", 26)]);
});

test("a match beyond 16 bits stands unless every declaration gives the work a quality below 70", () => {
  const qualities = new Map([
    ["d1:w", 54],
    ["d2:w", 90],
  ]);
  const quality = (d: string, w: string) => qualities.get(`${d}:${w}`);
  const match = (distance: number, declarations: string[]) => ({ sha256: "w", distance, declarations });
  assert.equal(pdqDeclaredQualityStands(match(16, ["d1"]), quality), true);
  assert.equal(pdqDeclaredQualityStands(match(17, ["d1"]), quality), false);
  assert.equal(pdqDeclaredQualityStands(match(17, ["d1", "d2"]), quality), true);
  assert.equal(pdqDeclaredQualityStands(match(17, ["d1", "d3"]), quality), true);
  assert.equal(pdqDeclaredQualityStands(match(30, []), quality), true);
});

// The node's answers to a query if one work declared `declared`: each query hash's nearest
// declared hash, when within its asked distance; found if any match stands (the SDK's
// PdqQuery.matches, which the fixture records for mirrored and resized copies).
function foundBy(query: PdqQuery, declared: string[]): boolean {
  const answers = new Map(
    query.asks.map(([hash, asked]) => {
      const nearest = Math.min(...declared.map((d) => pdqDistance(hash, d)));
      return [hash, nearest <= asked ? [m("work", nearest)] : []] as const;
    }),
  );
  return [...pdqStandingMatches(query, answers).values()].some((kept) => kept.length > 0);
}

for (const a of answers.pdq_standing) {
  test(`a mirrored and resized copy of ${a.kind} ${a.width}x${a.height} is found or not as the SDK's rules decide`, () => {
    assert.equal(foundBy(a.query, a.declared), a.matches);
    assert.equal(foundBy({ ...a.query, confirm: [] }, a.declared), a.unconfirmed);
  });
}

test("the fixture has a copy found only through its flip's crops", () => {
  assert.ok(answers.pdq_standing.some((a) => a.matches && !a.unconfirmed));
  assert.ok(answers.pdq_standing.some((a) => a.unconfirmed) && answers.pdq_standing.some((a) => !a.matches));
});
