// spec/vectors/merkle.json, tiles.json (spec §4) and ../shared/vectors/merkle-proofs.json
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import {
  consistencyProof,
  decodeEntryBundle,
  encodeEntryBundle,
  entryBundlePath,
  hashTileFromEntries,
  inclusionProof,
  leafHash,
  nodeHash,
  parseEntryBundlePath,
  parseTilePath,
  rootFromLeafHashes,
  tilePath,
  tilesForSize,
  verifyConsistency,
  verifyInclusion,
} from "../src/index.js";
import { SHARED, fromB64, hex, loadJson, text, throwsExactly, toHex, vectors } from "./helpers.js";

const leaves = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => leafHash(text(`entry-${i}`)));
const entries = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => text(`entry-${i}`));

test("merkle.json: every case", () => {
  const file = vectors("merkle.json");
  const kinds = new Set<string>();
  for (const c of file.cases) {
    const kind = c["kind"] as string;
    kinds.add(kind);
    const proof = ((c["proof"] as string[] | undefined) ?? []).map(hex);
    if (kind === "leaf_hash") assert.equal(toHex(leafHash(hex(c["entry"] as string))), c["leaf_hash"], c.name);
    else if (kind === "node_hash") assert.equal(toHex(nodeHash(hex(c["left"] as string), hex(c["right"] as string))), c["hash"], c.name);
    else if (kind === "root") assert.equal(toHex(rootFromLeafHashes(leaves(c["size"] as number))), c["root"], c.name);
    else if (kind === "inclusion") {
      const run = () => verifyInclusion(hex(c["leaf_hash"] as string), c["index"] as number, c["size"] as number, proof, hex(c["root"] as string));
      if (c.result === "invalid") throwsExactly(run, c.error!, c.name);
      else {
        run();
        assert.deepEqual(inclusionProof(c["index"] as number, leaves(c["size"] as number)).map(toHex), c["proof"], c.name);
      }
    } else if (kind === "consistency") {
      const run = () =>
        verifyConsistency(c["old_size"] as number, c["new_size"] as number, proof, hex(c["old_root"] as string), hex(c["new_root"] as string));
      if (c.result === "invalid") throwsExactly(run, c.error!, c.name);
      else {
        run();
        assert.deepEqual(consistencyProof(c["old_size"] as number, leaves(c["new_size"] as number)).map(toHex), c["proof"], c.name);
      }
    } else assert.fail(`unknown kind ${kind}`);
  }
  assert.deepEqual([...kinds].sort(), ["consistency", "inclusion", "leaf_hash", "node_hash", "root"]);
});

interface TdInclusion {
  leafIdx: number;
  treeSize: number;
  root: string | null;
  leafHash: string | null;
  proof: string[] | null;
  wantErr: boolean;
  desc: string;
}
interface TdConsistency {
  size1: number;
  size2: number;
  root1: string | null;
  root2: string | null;
  proof: string[] | null;
  wantErr: boolean;
  desc: string;
}

test("transparency-dev/merkle proofs (shared vectors)", () => {
  const file = loadJson<{ inclusion: TdInclusion[]; consistency: TdConsistency[] }>(join(SHARED, "merkle-proofs.json"));
  const b = (s: string | null): Uint8Array => fromB64(s ?? "");
  // project rule (shared vectors README): hashes that are not 32 bytes are rejected
  const all32 = (...values: (string | null)[]): boolean => values.every((v) => b(v).length === 32);
  for (const c of file.inclusion) {
    const run = () => verifyInclusion(b(c.leafHash), c.leafIdx, c.treeSize, (c.proof ?? []).map(b), b(c.root));
    if (c.wantErr || !all32(c.leafHash, c.root, ...(c.proof ?? []))) throwsExactly(run, "InclusionProofError", c.desc);
    else run();
  }
  for (const c of file.consistency) {
    const run = () => verifyConsistency(c.size1, c.size2, (c.proof ?? []).map(b), b(c.root1), b(c.root2));
    if (c.wantErr || !all32(c.root1, c.root2, ...(c.proof ?? []))) throwsExactly(run, "ConsistencyProofError", c.desc);
    else run();
  }
  assert.ok(file.inclusion.length > 90 && file.consistency.length > 90);
});

test("tiles.json: every case", () => {
  const file = vectors("tiles.json");
  for (const c of file.cases) {
    const kind = c["kind"] as string;
    if (kind === "tile_path") {
      if (c.result === "invalid") throwsExactly(() => parseTilePath(c["path"] as string), c.error!, c.name);
      else {
        const coord = { level: c["level"] as number, index: c["index"] as number, width: c["width"] as number };
        assert.equal(tilePath(coord), c["path"], c.name);
        assert.deepEqual(parseTilePath(c["path"] as string), coord, c.name);
      }
    } else if (kind === "entry_bundle_path") {
      if (c.result === "invalid") throwsExactly(() => parseEntryBundlePath(c["path"] as string), c.error!, c.name);
      else {
        assert.equal(entryBundlePath(c["index"] as number, c["width"] as number), c["path"], c.name);
        assert.deepEqual(parseEntryBundlePath(c["path"] as string), [c["index"], c["width"]], c.name);
      }
    } else if (kind === "tiles_for_size") {
      assert.deepEqual(tilesForSize(c["size"] as number).map(tilePath), c["paths"], c.name);
    } else if (kind === "entry_bundle") {
      if (c["entry_sizes"] !== undefined) {
        const big = (c["entry_sizes"] as number[]).map((n) => new Uint8Array(n));
        throwsExactly(() => encodeEntryBundle(big), c.error!, c.name);
      } else if (c.result === "invalid") {
        const width = c["width"] === null ? undefined : (c["width"] as number);
        throwsExactly(() => decodeEntryBundle(hex(c["bundle"] as string), width), c.error!, c.name);
      } else {
        const decoded = decodeEntryBundle(hex(c["bundle"] as string));
        assert.deepEqual(decoded.map(toHex), c["entries"], c.name);
        assert.equal(toHex(encodeEntryBundle(decoded)), c["bundle"], c.name);
      }
    } else if (kind === "log_tile") {
      const coord = parseTilePath(c["path"] as string);
      const log = entries(c["size"] as number);
      assert.equal(toHex(hashTileFromEntries(coord, log)), c["tile"], c.name);
      if (c["entry_bundle"] !== undefined) {
        const [index, width] = parseEntryBundlePath(c["entry_bundle_path"] as string);
        const bundle = decodeEntryBundle(hex(c["entry_bundle"] as string), width);
        assert.deepEqual(bundle, log.slice(index * 256, index * 256 + width), c.name);
      }
    } else assert.fail(`unknown kind ${kind}`);
  }
});
