// PDQ in TypeScript against the Python SDK's (Meta's C++ reference through pdqhash), on generated
// images (the same pixels in both languages) and on the reference JPEGs of tests/clients/data/pdq
// (decoded here by jpeg-js, there by Pillow).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import jpeg from "jpeg-js";
import { pdqDistance, pdqHash } from "../src/index.js";
import { ROOT, fixture } from "./helpers.js";
import { generatedRgba } from "./images.js";

interface Answers {
  pdq_generated: { kind: string; width: number; height: number; pdq: string; quality: number }[];
  pdq_files: { file: string; pdq: string; quality: number }[];
}
const answers = fixture<Answers>("python-answers.json");

/** The largest distance accepted between a JPEG decoded by jpeg-js and by Pillow (see README). */
export const JPEG_DECODER_BOUND = 16;

test("PDQ of generated images: the same quality, and the same bits whenever the image has features", () => {
  assert.ok(answers.pdq_generated.length >= 5);
  const lowQuality: Record<string, number> = {};
  for (const a of answers.pdq_generated) {
    const result = pdqHash({ width: a.width, height: a.height, data: generatedRgba(a.kind, a.width, a.height) });
    const label = `${a.kind} ${a.width}x${a.height}`;
    assert.equal(result.quality, a.quality, label);
    const distance = pdqDistance(result.hash, a.pdq);
    // A featureless image (the 64x64 linear gradient: quality 2, every DCT coefficient about
    // 1e-6) has bits that are float rounding noise in any implementation; PDQ says to ignore
    // hashes of quality below 50. Every other image must give the reference's exact bits.
    if (a.quality < 50 && distance > 0) lowQuality[label] = distance;
    else assert.equal(distance, 0, `${label}: ${result.hash} vs ${a.pdq}`);
  }
  console.log(`# PDQ distance on featureless generated images (quality < 50): ${JSON.stringify(lowQuality)}`);
});

test(`PDQ of the reference JPEGs is within ${JPEG_DECODER_BOUND} bits of the Python SDK's`, () => {
  const distances: Record<string, number> = {};
  for (const a of answers.pdq_files) {
    const image = jpeg.decode(readFileSync(join(ROOT, "tests", "clients", "data", "pdq", a.file)), { useTArray: true, formatAsRGBA: true });
    const result = pdqHash(image);
    distances[a.file] = pdqDistance(result.hash, a.pdq);
    assert.ok(distances[a.file]! <= JPEG_DECODER_BOUND, `${a.file}: distance ${distances[a.file]} (${result.hash} vs ${a.pdq})`);
  }
  console.log(`# PDQ distance, jpeg-js vs Pillow decoding: ${JSON.stringify(distances)}`);
});

test("pdqDistance counts differing bits", () => {
  assert.equal(pdqDistance("0".repeat(64), "f".repeat(64)), 256);
  assert.equal(pdqDistance("0".repeat(63) + "3", "0".repeat(64)), 2);
  assert.throws(() => pdqDistance("0", "0"));
});
