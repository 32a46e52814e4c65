// The TypeScript and Python implementations on the same inputs. The Python answers are in
// test/fixtures/python-answers.json, written by scripts/python_answers.py (`make test-js` checks
// that it is up to date with the Python reference before running these tests).
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import {
  NoteVerifier,
  POLICIES,
  PublicKey,
  TrustState,
  canonicalJsonText,
  loadEntry,
  loadRecord,
  openNote,
  openSnapshot,
  recordId,
  verifyReceipt,
  normalizeUrl,
  parseContentUsage,
  parseJson,
  type Policy,
  type ProtocolError,
  type Subject,
} from "../src/index.js";
import { SHARED, fixture, fromB64, hex, loadJson, text, vectors } from "./helpers.js";

interface Answers {
  ed25519_cctv: string[];
  canonical: { input: string; canonical?: string; error?: string }[];
  dids: { did: string; public_key?: string; error?: string }[];
  urls: { input: string; output?: string; error?: string }[];
  content_usage: { field: string; prefs?: Record<string, string>; error?: string }[];
  records_mutated: { entry_hex: string; verdict: string }[];
  receipts_mutated: { case: string; receipt_hex: string; verdict: string }[];
  notes_and_snapshots_mutated: { kind: "note" | "snapshot"; data_hex: string; verdict: string }[];
  trust_records_mutated: { entry_hex: string; verdict: string }[];
  trust_records_edited: { entry: string; verdict: string }[];
  trust_records_paired: { entry: string; verdict: string }[];
  trust_resolution: {
    dids: string[];
    platforms: Record<string, string>;
    nodes: string[];
    scenarios: {
      entries: { entry: string; origin: string }[];
      expected: { subject: Subject; claims: unknown[][]; policies: Record<Policy, { counted: boolean[]; prefs: Record<string, string> }> }[];
    }[];
  };
}
const answers = fixture<Answers>("python-answers.json");

function outcome<T>(fn: () => T): { value: T } | { error: string } {
  try {
    return { value: fn() };
  } catch (error) {
    return { error: (error as ProtocolError).name };
  }
}

interface Cctv {
  number: number;
  key: string;
  sig: string;
  msg: string;
  flags: string[] | null;
}

test("Ed25519: the same verdict as the Python node on all of C2SP CCTV (spec §1.4.3, §1.4.4)", () => {
  const cases = loadJson<Cctv[]>(join(SHARED, "ed25519-cctv.json"));
  assert.equal(cases.length, answers.ed25519_cctv.length);
  const disagreements: string[] = [];
  const counts: Record<string, number> = {};
  cases.forEach((c, i) => {
    const result = outcome(() => PublicKey.fromBytes(hex(c.key)).verify(hex(c.sig), text(c.msg)));
    const verdict = "value" in result ? "valid" : result.error;
    counts[verdict] = (counts[verdict] ?? 0) + 1;
    if (verdict !== answers.ed25519_cctv[i]) disagreements.push(`case ${c.number}: TS ${verdict}, Python ${answers.ed25519_cctv[i]}`);
  });
  assert.deepEqual(disagreements, []);
  assert.equal(counts["valid"], 43, JSON.stringify(counts)); // spec §1.4.4
});

test("Ed25519: each CCTV verdict follows from the case's flags as spec §1.4.4 says", () => {
  const cases = loadJson<Cctv[]>(join(SHARED, "ed25519-cctv.json"));
  for (const c of cases) {
    const flags = new Set(c.flags ?? []);
    const expected =
      flags.has("low_order_A") || flags.has("non_canonical_A")
        ? "KeyFormatError"
        : flags.has("low_order_R") || flags.has("non_canonical_R") || flags.has("low_order_residue")
          ? "SignatureError"
          : "valid";
    const result = outcome(() => PublicKey.fromBytes(hex(c.key)).verify(hex(c.sig), text(c.msg)));
    assert.equal("value" in result ? "valid" : result.error, expected, `case ${c.number} ${[...flags].join(",")}`);
  }
});

test("canonical JSON: the same canonical form or error class as Python", () => {
  for (const a of answers.canonical) {
    const result = outcome(() => canonicalJsonText(parseJson(Buffer.from(a.input, "utf-8"))));
    // Node encodes a lone surrogate in the input text as U+FFFD; Python (surrogatepass) keeps
    // its bytes. Both reject: EncodingError.
    if (a.error !== undefined) assert.deepEqual(result, { error: a.error }, a.input);
    else assert.deepEqual(result, { value: a.canonical }, a.input);
  }
});

test("did:key: the same key or error class as Python", () => {
  for (const a of answers.dids) {
    const result = outcome(() => PublicKey.fromDid(a.did).hex);
    assert.deepEqual(result, a.error !== undefined ? { error: a.error } : { value: a.public_key }, a.did);
  }
});

test("URL normalisation: the same output or error class as Python", () => {
  for (const a of answers.urls) {
    const result = outcome(() => normalizeUrl(a.input));
    assert.deepEqual(result, a.error !== undefined ? { error: a.error } : { value: a.output }, a.input);
  }
});

test("Content-Usage: the same statement or error class as Python", () => {
  for (const a of answers.content_usage) {
    const result = outcome(() => ({ ...parseContentUsage(a.field) }));
    assert.deepEqual(result, a.error !== undefined ? { error: a.error } : { value: a.prefs }, a.field);
  }
});

test("records: 400 mutated entries fail at the same step of spec §2.7 as in Python", () => {
  const verdicts: Record<string, number> = {};
  const disagreements: string[] = [];
  for (const a of answers.records_mutated) {
    const result = outcome(() => loadRecord(hex(a.entry_hex)));
    const verdict = "value" in result ? "valid" : result.error;
    verdicts[a.verdict] = (verdicts[a.verdict] ?? 0) + 1;
    if (verdict !== a.verdict) disagreements.push(`${a.entry_hex}: TS ${verdict}, Python ${a.verdict}`);
  }
  assert.deepEqual(disagreements, []);
  assert.ok(Object.keys(verdicts).length >= 5, JSON.stringify(verdicts));
});

test("receipts: 300 mutated receipts verify, or fail, exactly where Python's do", () => {
  const cases = new Map(vectors("receipts.json").cases.map((c) => [c.name, c]));
  const disagreements: string[] = [];
  for (const a of answers.receipts_mutated) {
    const c = cases.get(a.case)!;
    const result = outcome(() =>
      verifyReceipt(hex(a.receipt_hex), fromB64(c["entry"] as string), NoteVerifier.fromVkey(c["log_vkey"] as string), {
        witnesses: (c["witness_vkeys"] as string[]).map((v) => NoteVerifier.fromVkey(v)),
        minWitnesses: c["min_witnesses"] as number,
      }),
    );
    const verdict = "value" in result ? "valid" : result.error;
    if (verdict !== a.verdict) disagreements.push(`${a.receipt_hex}: TS ${verdict}, Python ${a.verdict}`);
  }
  assert.deepEqual(disagreements, []);
});

test("notes and snapshots: 300 mutated ones get the same verdict as Python's", () => {
  const note = vectors("notes.json").cases.find((c) => c.name === "open-one-known-one-unknown")!;
  const snapshot = vectors("snapshots.json").cases.find((c) => c.name === "snapshot-full")!;
  const noteKeys = (note["vkeys"] as string[]).map((v) => NoteVerifier.fromVkey(v));
  const nodeKey = NoteVerifier.fromVkey(snapshot["verifier_key"] as string);
  const disagreements: string[] = [];
  for (const a of answers.notes_and_snapshots_mutated) {
    const data = hex(a.data_hex);
    const result = outcome(() => (a.kind === "note" ? openNote(data, noteKeys) : openSnapshot(data, nodeKey)));
    const verdict = "value" in result ? "valid" : result.error;
    if (verdict !== a.verdict) disagreements.push(`${a.kind} ${a.data_hex}: TS ${verdict}, Python ${a.verdict}`);
  }
  assert.deepEqual(disagreements, []);
});

test("trust records: mutated and edited entries fail at the same step and rule of spec §2.7 and §9.3 as in Python", () => {
  const inputs = [
    ...answers.trust_records_mutated.map((a) => ({ data: hex(a.entry_hex), verdict: a.verdict })),
    ...[...answers.trust_records_edited, ...answers.trust_records_paired].map((a) => ({ data: text(a.entry), verdict: a.verdict })),
  ];
  assert.ok(inputs.length >= 500);
  const verdicts: Record<string, number> = {};
  const disagreements: string[] = [];
  for (const a of inputs) {
    const result = outcome(() => loadEntry(a.data));
    const verdict = "value" in result ? "valid" : result.error;
    verdicts[a.verdict] = (verdicts[a.verdict] ?? 0) + 1;
    if (verdict !== a.verdict) disagreements.push(`${Buffer.from(a.data).toString()}: TS ${verdict}, Python ${a.verdict}`);
  }
  assert.deepEqual(disagreements, []);
  assert.ok(Object.keys(verdicts).length >= 6 && (verdicts["valid"] ?? 0) >= 10, JSON.stringify(verdicts));
});

test("trust resolution: random scenarios resolve as Python's TrustState, under every policy (spec §9.4)", () => {
  const { dids, platforms, nodes, scenarios } = answers.trust_resolution;
  assert.ok(scenarios.length >= 40);
  let levels = 0;
  for (const [n, scenario] of scenarios.entries()) {
    const state = new TrustState({ platforms, nodes });
    const index = new Map<string, number>();
    scenario.entries.forEach((e, i) => {
      const entry = text(e.entry);
      const id = recordId(entry);
      if (!index.has(id)) index.set(id, i);
      state.add(loadEntry(entry), id, e.origin);
    });
    const at = (id: string): number => index.get(id)!;
    for (const expected of scenario.expected) {
      for (const policy of POLICIES) {
        const answer = state.resolve(expected.subject, policy);
        // the fixture's compact form: keys as indexes into dids, record ids as indexes into entries
        const claims = answer.claims.map((c) => [
          dids.indexOf(c.creator),
          dids.indexOf(c.principal),
          at(c.declaration_id),
          c.issued_at,
          c.prefs,
          c.origins,
          c.level,
          c.levels,
          c.evidence.map(at),
          c.disputed_by.map(at),
        ]);
        const label = `scenario ${n}: ${expected.subject.join(" ")} ${policy}`;
        assert.deepEqual(claims, expected.claims, label);
        assert.deepEqual(
          { counted: answer.claims.map((c) => c.counted), prefs: answer.prefs },
          expected.policies[policy],
          label,
        );
        levels += answer.claims.filter((c) => c.level !== "none").length;
      }
    }
  }
  assert.ok(levels > 0);
});
