// spec/vectors/snapshots.json (spec §8): keys, filters (construction and lookup), files, chains
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  NoteVerifier,
  buildFilter,
  openSnapshot,
  parseSnapshot,
  snapshotHeaderText,
  snapshotName,
  subjectKey,
  verifyChain,
  type Snapshot,
} from "../src/index.js";
import { hex, throwsExactly, toHex, vectors } from "./helpers.js";

interface Lookup {
  hit: boolean;
  member: boolean;
  key?: string;
  subject?: [string, string];
}

const keyHex = (k: bigint): string => k.toString(16).padStart(16, "0");

test("snapshots.json: every case", () => {
  const file = vectors("snapshots.json");
  const opened = new Map<string, Snapshot>();
  const kinds = new Set<string>();
  for (const c of file.cases) {
    const kind = c["kind"] as string;
    kinds.add(kind);
    if (kind === "key") {
      const [subjectKind, value] = c["subject"] as [string, string];
      assert.equal(keyHex(subjectKey(subjectKind, value)), c["key"], c.name);
    } else if (kind === "filter") {
      const filter = buildFilter(
        (c["keys"] as string[]).map((k) => BigInt("0x" + k)),
        { fingerprintBits: c["fingerprint_bits"] as number, seedMaterial: hex(c["seed_material"] as string) },
      );
      assert.equal(toHex(filter.data), c["filter"], c.name);
      assert.equal(keyHex(filter.seed), c["seed"], c.name);
      assert.equal(filter.items, c["items"], c.name);
      assert.equal(filter.segmentLength, c["segment_length"], c.name);
      assert.equal(filter.segmentCount, c["segment_count"], c.name);
      assert.equal(filter.arrayLength, c["array_length"], c.name);
      for (const l of c["lookups"] as Lookup[]) assert.equal(filter.contains(BigInt("0x" + l.key!)), l.hit, `${c.name} ${l.key}`);
    } else if (kind === "snapshot") {
      const node = NoteVerifier.fromVkey(c["verifier_key"] as string);
      const run = () => openSnapshot(hex(c["file"] as string), node);
      if (c.result === "invalid") {
        throwsExactly(run, c.error!, c.name);
        continue;
      }
      const snapshot = run();
      opened.set(c.name, snapshot);
      assert.equal(snapshotHeaderText(snapshot.header), c["header"], c.name);
      assert.equal(snapshotName(snapshot.header), c["name_on_server"], c.name);
      assert.deepEqual(parseSnapshot(hex(c["file"] as string)).header, snapshot.header, c.name);
      for (const l of c["lookups"] as Lookup[]) {
        const [subjectKind, value] = l.subject!;
        assert.equal(snapshot.filter.contains(subjectKey(subjectKind, value)), l.hit, `${c.name} ${value}`);
      }
    } else if (kind === "chain") {
      const run = () => verifyChain((c["snapshots"] as string[]).map((n) => opened.get(n)!));
      if (c.result === "invalid") throwsExactly(run, c.error!, c.name);
      else assert.equal(run().size, c["size"], c.name);
    } else assert.fail(`unknown kind ${kind}`);
  }
  assert.deepEqual([...kinds].sort(), ["chain", "filter", "key", "snapshot"]);
});

test("a filter built here has no false negatives and about the stated false-positive rate", () => {
  const members = Array.from({ length: 2000 }, (_, i) => BigInt.asUintN(64, BigInt(i) * 0x9e3779b97f4a7c15n));
  const filter = buildFilter(members, { fingerprintBits: 8, seedMaterial: new Uint8Array([1]) });
  for (const m of members) assert.ok(filter.contains(m));
  let hits = 0;
  for (let i = 0; i < 20000; i++) if (filter.contains(BigInt.asUintN(64, BigInt(i + 1) * 0xc2b2ae3d27d4eb4fn + 7n))) hits++;
  assert.ok(hits < 20000 / 256 * 2.5, `false positives: ${hits} of 20000 at 1/256`);
});
