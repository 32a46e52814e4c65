// spec/vectors/snapshots.json (spec §8): keys, filters (construction and lookup), files, chains
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  NoteVerifier,
  b64encode,
  POLICIES,
  buildFilter,
  claimCounted,
  claimLevel,
  mergeLevels,
  openLevels,
  parseLevelsBody,
  openSnapshot,
  parseSnapshot,
  snapshotHeaderText,
  snapshotName,
  subjectKey,
  verifyChain,
  type LevelRow,
  type Snapshot,
  type SnapshotLevels,
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

function rowJson(r: LevelRow): unknown {
  return {
    key: keyHex(r.key),
    reserved: [...r.reserved].sort(),
    claims: r.claims.map((claim) => ({
      declaration: claim.declarationId,
      level: claimLevel(claim),
      levels: claim.levels,
      evidence: claim.evidence,
      preference: claim.preference,
      counted: Object.fromEntries(POLICIES.map((p) => [p, claimCounted(claim, p)])),
      disputed_by: claim.disputedBy,
    })),
  };
}

test("snapshot-levels.json: every case (spec §8.10)", () => {
  const file = vectors("snapshot-levels.json");
  const levelsByName = new Map<string, SnapshotLevels>();
  for (const c of file.cases) {
    const node = NoteVerifier.fromVkey(c["verifier_key"] as string);
    const snapshot = parseSnapshot(hex(c["snapshot"] as string));
    const opened: Snapshot = openSnapshot(hex(c["snapshot"] as string), NoteVerifier.fromVkey(vectors("snapshots.json").cases.find((x) => x.name === "snapshot-full")!["verifier_key"] as string));
    assert.equal(snapshotName(snapshot.header), snapshotName(opened.header));
    const run = () => openLevels(hex(c["file"] as string), node, opened);
    if (c.result === "invalid") {
      throwsExactly(run, c.error!, c.name);
      continue;
    }
    const levels = run();
    levelsByName.set(c.name, levels);
    if (c["follows"] !== undefined) {
      // a delta's file: it names the one before it; the chain's files merged (spec §8.10.5)
      assert.equal(toHex(levels.header.previous!), c["previous_levels"]);
      const merged = mergeLevels([levelsByName.get(c["follows"] as string)!, levels]);
      assert.deepEqual(merged.rows.map(rowJson), c["merged_rows"], c.name);
      for (const l of c["merged_lookups"] as { key: string; row: boolean; reserved: Record<string, boolean> }[]) {
        const key = BigInt("0x" + l.key);
        assert.equal(merged.row(key) !== undefined, l.row, `${c.name} merged ${l.key}`);
        assert.deepEqual(Object.fromEntries(POLICIES.map((p) => [p, merged.reserved(key, p)])), l.reserved, `${c.name} merged ${l.key}`);
      }
      assert.throws(() => mergeLevels([levels]), /does not follow/);
    }
    assert.deepEqual(
      levels.header.mirrors.map((m) => ({ origin: m.origin, size: m.size, root: b64encode(m.rootHash) })),
      (c["mirrors"] as unknown[] | undefined) ?? [],
      c.name,
    );
    for (const m of levels.header.mirrors) assert.equal(levels.mirror(m.origin), m);
    assert.equal(levels.mirror(levels.header.origin), undefined);
    assert.deepEqual(
      (c["rows"] as { key: string; reserved: string[]; claims: { declaration: string; level: string; levels: string[]; evidence: string[]; preference: string | null; counted: Record<string, boolean>; disputed_by: string[] }[] }[]),
      levels.rows.map(rowJson),
      c.name,
    );
    assert.equal(levels.note.length > 0, true);
    assert.equal(c["header"], new TextDecoder().decode(levels.note).split("\n\n")[0] + "\n", c.name);
    for (const l of c["lookups"] as { key: string; row: boolean; reserved: Record<string, boolean> }[]) {
      const key = BigInt("0x" + l.key);
      assert.equal(levels.row(key) !== undefined, l.row, `${c.name} ${l.key}`);
      assert.deepEqual(Object.fromEntries(POLICIES.map((p) => [p, levels.reserved(key, p)])), l.reserved, `${c.name} ${l.key}`);
    }
  }
});

test("levels bodies that break a rule are refused like Python refuses them", () => {
  const u = (n: number, width: number): number[] => Array.from({ length: width }, (_, i) => (n >> (8 * (width - 1 - i))) & 0xff);
  const id = (b: number): number[] => Array<number>(32).fill(b);
  const ascii = (t: string): number[] => [...t].map((ch) => ch.charCodeAt(0));
  const set = (levels: string[], evidence: number[][]): number[] => [
    ...u(levels.length, 2),
    ...levels.flatMap((l) => [...u(l.length, 2), ...ascii(l)]),
    ...u(evidence.length, 2),
    ...evidence.flat(),
  ];
  const claim = (rid: number[], index: number, flags: number, disputes: number[][] = []): number[] => [...rid, ...u(index, 4), flags, ...u(disputes.length, 2), ...disputes.flat()];
  const row = (key: number, bits: number, count: number): number[] => [...u(0, 4), ...u(key, 4), bits, ...u(count, 2)];
  const body = (sets: number[][], claims: number[][], rows: number[][], trailing: number[] = []): Uint8Array =>
    Uint8Array.from([...u(sets.length, 4), ...sets.flat(), ...u(claims.length, 4), ...claims.flat(), ...u(rows.length, 4), ...rows.flat(), ...trailing]);
  const none = set([], []);
  const domain = set(["domain:a.example"], [id(1)]);
  const good = parseLevelsBody(body([none, domain], [claim(id(1), 1, 6)], [row(9, 7, 1)]));
  assert.equal(good[0]!.key, 9n);
  assert.deepEqual(good[0]!.reserved, ["any", "verified", "verified-only"]);
  assert.equal(claimLevel(good[0]!.claims[0]!), "domain:a.example");
  const bad = [
    new Uint8Array(),
    body([none], [], [], [0]),
    body([domain, none], [], []),
    body([none, none], [], []),
    body([set(["none"], [id(1)])], [], []),
    body([set(["domain:a b"], [id(1)])], [], []),
    body([set(["platform:p", "domain:a.example"], [id(1)])], [], []),
    body([set(["domain:a.example"], [])], [], []),
    body([set([], [id(1)])], [], []),
    body([set(["domain:a.example"], [id(2), id(1)])], [], []),
    body([none], [claim(id(1), 1, 2)], [row(1, 1, 1)]),
    body([none], [claim(id(1), 0, 3)], [row(1, 1, 1)]),
    body([none], [claim(id(1), 0, 8)], [row(1, 1, 1)]),
    body([none], [claim(id(1), 0, 2, [id(2), id(1)])], [row(1, 1, 1)]),
    body([none], [claim(id(1), 0, 2)], [row(1, 1, 2)]),
    body([none], [claim(id(1), 0, 2)], [row(1, 1, 0)]),
    body([none], [claim(id(2), 0, 2), claim(id(1), 0, 2)], [row(1, 1, 2)]),
    body([], [], [row(2, 1, 0), row(1, 1, 0)]),
    body([], [], [row(1, 8, 0)]),
  ];
  for (const [i, data] of bad.entries()) throwsExactly(() => parseLevelsBody(data), "SnapshotError", `case ${i}`);
});
