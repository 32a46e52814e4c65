// The PDQ hashes of crops (spec §2.4 pdq_variants) and the query hashes of the recommended check
// (spec §6.8.3 item 6) in TypeScript against the Python SDK's, on the same generated pixels:
// Pillow scales the image there, thumbnailLanczos here; every hash and distance must be equal.
import assert from "node:assert/strict";
import { test } from "node:test";
import { declaredPdqVariants, pdqHash, pdqQueryByDistance, pdqQueryHashes, pdqVariants, thumbnailLanczos, trimBorder } from "../src/index.js";
import { fixture } from "./helpers.js";
import { generatedRgba } from "./images.js";

interface Answers {
  pdq_variants_generated: {
    kind: string;
    width: number;
    height: number;
    variants: string[];
    query_pdq: string;
    query: [string, number][];
  }[];
}
const answers = fixture<Answers>("python-answers.json");

for (const a of answers.pdq_variants_generated) {
  const label = `${a.kind} ${a.width}x${a.height}`;
  const image = { width: a.width, height: a.height, data: generatedRgba(a.kind, a.width, a.height) };

  test(`pdq_variants of ${label} are the SDK's`, () => {
    assert.deepEqual(pdqVariants(image), a.variants);
  });

  test(`the query hashes of ${label} and their distances are the SDK's, in its order`, () => {
    const query = pdqQueryHashes(image);
    assert.equal(query.pdq, a.query_pdq);
    assert.deepEqual(query.asks, a.query);
  });
}

test("the fixture covers scaling with and without a reduction, the border trim and weak hashes", () => {
  const sizes = answers.pdq_variants_generated.map((a) => Math.max(a.width, a.height));
  assert.ok(sizes.some((s) => s <= 256) && sizes.some((s) => s > 512 && s < 1024) && sizes.some((s) => s >= 1536));
  const distances = new Set(answers.pdq_variants_generated.flatMap((a) => a.query.map(([, d]) => d)));
  for (const d of [31, 26, 8]) assert.ok(distances.has(d), `distance ${d} asked`);
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
