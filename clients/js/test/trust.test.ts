// spec/vectors/trust-records.json (spec §9.3) and trust-resolution.json (spec §9.4): trust records
// decode, verify and re-sign to the same bytes, invalid ones fail with the vectors' error class,
// and TrustState gives every expected resolution whatever the arrival order.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import {
  ConsentState,
  DEFAULT_POLICY,
  POLICIES,
  PrivateKey,
  TrustState,
  attestedHashes,
  canonicalJson,
  decodeEntry,
  decodeRecord,
  encodeRecord,
  entrySize,
  isReserved,
  loadEntry,
  loadRecord,
  packHashes,
  recordId,
  signRecord,
  signerOf,
  signingInput,
  urlHost,
  type Policy,
  type Subject,
  type TrustRecord,
} from "../src/index.js";
import { fromUtf8 } from "../src/encoding.js";
import { text, throwsExactly, vectors } from "./helpers.js";

// The vectors' keys: seeds SHA-256("consent-registry vectors: NAME") (gen_records.py).
const vectorKeys = new Map(
  ["alice", "bob", "node", "platform"].map((name) => {
    const key = PrivateKey.fromSeed(createHash("sha256").update(`consent-registry vectors: ${name}`).digest());
    return [key.publicKey.did, key] as const;
  }),
);

test("trust-records.json: valid entries load, re-encode, re-sign and are refused by the declaration-only loader", () => {
  const file = vectors("trust-records.json");
  const valid = file.cases.filter((c) => c.result === "valid");
  assert.ok(valid.length >= 9);
  const types = new Set<string>();
  for (const c of valid) {
    const entry = text(c["entry"] as string);
    const record = loadEntry(entry) as TrustRecord;
    types.add(record.type);
    assert.equal(record.type, c["type"], c.name);
    assert.equal(signerOf(record), c["signer"], c.name);
    assert.equal(recordId(entry), c["record_id"], c.name);
    assert.deepEqual(encodeRecord(record), entry, c.name);
    assert.equal(fromUtf8(signingInput(record)), c["signing_input"], c.name);
    assert.equal(entrySize(record), c["size"], c.name);
    if (record.type === "platform-attestation") assert.equal(attestedHashes(record).length, c["hashes"], c.name);
    // Ed25519 is deterministic: signing again with the signer's key gives the same entry (spec §2.8)
    const key = vectorKeys.get(signerOf(record));
    assert.ok(key, `${c.name}: signer is one of the vectors' keys`);
    assert.deepEqual(encodeRecord(signRecord({ ...record, sig: undefined }, key)), entry, c.name);
    // decodeRecord/loadRecord read declarations only, as the reference's decode_record does (spec §0.3)
    throwsExactly(() => loadRecord(entry), "RecordError", c.name);
  }
  assert.deepEqual([...types].sort(), ["binding", "counter-statement", "platform-attestation", "revocation", "rotation"]);
});

test("trust-records.json: every invalid entry fails with the vectors' error class", () => {
  const file = vectors("trust-records.json");
  const invalid = file.cases.filter((c) => c.result === "invalid");
  assert.ok(invalid.length >= 30);
  for (const c of invalid) throwsExactly(() => loadEntry(text(c["entry"] as string)), c.error!, c.name);
});

test("signRecord refuses a key that is not the record's signer; decodeEntry does not verify", () => {
  const c = vectors("trust-records.json").cases.find((x) => x.name === "binding")!;
  const binding = loadEntry(text(c["entry"] as string)) as TrustRecord;
  const creatorKey = [...vectorKeys.values()].find((k) => k.publicKey.did !== signerOf(binding))!;
  throwsExactly(() => signRecord(binding, creatorKey), "RecordError");
  const forged = canonicalJson({ ...JSON.parse(c["entry"] as string), evidence: "0".repeat(64) });
  assert.equal(decodeEntry(forged).type, "binding");
  throwsExactly(() => loadEntry(forged), "SignatureError");
});

test("packHashes sorts and deduplicates; attestedHashes unpacks; bad digests are refused", () => {
  const a = "aa".repeat(32);
  const b = "0b".repeat(32);
  const packed = packHashes([a, b, a]);
  assert.deepEqual(attestedHashes({ type: "platform-attestation", v: 1, platform: "", account: "", creator: "", issued_at: 0, hashes: packed }), [b, a]);
  assert.equal(packHashes([]), "");
  throwsExactly(() => packHashes(["AA".repeat(32)]), "RecordError");
});

interface ResolutionCase {
  name: string;
  config: { platforms: Record<string, string>; nodes: string[] };
  entries: { entry: string; id: string; origin: string }[];
  expected: { subject: Subject; policy: Policy; resolution: unknown }[];
}

test("trust-resolution.json: every subject under every policy, in any order and with duplicates (spec §9.4.8)", () => {
  const file = vectors("trust-resolution.json");
  assert.ok(file.cases.length >= 8);
  for (const c of file.cases as unknown as ResolutionCase[]) {
    const listed = c.entries.map((e) => {
      const entry = text(e.entry);
      assert.equal(recordId(entry), e.id, c.name);
      return { record: loadEntry(entry), id: e.id, origin: e.origin };
    });
    for (const order of [listed, [...listed].reverse(), [...listed, ...listed]]) {
      const state = new TrustState(c.config);
      for (const e of order) state.add(e.record, e.id, e.origin);
      assert.equal(state.size, listed.length);
      for (const e of c.expected) {
        const answer = state.resolve(e.subject, e.policy);
        assert.deepEqual(JSON.parse(JSON.stringify(answer)), e.resolution, `${c.name}: ${e.subject[1]} ${e.policy}`);
        if (e.policy === DEFAULT_POLICY) assert.deepEqual(state.resolve(e.subject), answer);
        assert.equal(isReserved(answer), answer.prefs["train-ai"] === "n");
      }
    }
  }
});

test("without trust records every policy answers as ConsentState (spec §9.4, resolution.json)", () => {
  for (const c of vectors("resolution.json").cases) {
    const declared = (c["declarations"] as { id: string; origin: string; record: unknown }[]).map((d) => ({
      ...d,
      record: decodeRecord(canonicalJson(d.record)),
    }));
    const trust = new TrustState();
    const plain = new ConsentState();
    for (const d of declared) {
      trust.add(d.record, d.id, d.origin);
      plain.add(d.record, d.id, d.origin);
    }
    for (const subject of plain.subjects()) {
      const expected = plain.resolve(subject);
      for (const policy of POLICIES) {
        const answer = trust.resolve(subject, policy);
        const claims = answer.claims.map((claim) => ({
          creator: claim.creator,
          declaration_id: claim.declaration_id,
          issued_at: claim.issued_at,
          prefs: claim.prefs,
          origins: claim.origins,
          verified: false,
        }));
        assert.deepEqual(claims, expected.claims, `${c.name} ${policy}`);
        assert.ok(answer.claims.every((claim) => claim.level === "none" && claim.principal === claim.creator));
        assert.deepEqual(answer.prefs, policy === "verified-only" ? {} : expected.prefs, `${c.name} ${policy}`);
      }
    }
  }
});

test("TrustState.add checks ids and binds each id to one record; resolve checks the policy", () => {
  const c = vectors("trust-records.json").cases.find((x) => x.name === "rotation")!;
  const other = vectors("trust-records.json").cases.find((x) => x.name === "revocation")!;
  const rotation = loadEntry(text(c["entry"] as string));
  const state = new TrustState();
  throwsExactly(() => state.add(rotation, "A".repeat(64), "log"), "RecordError");
  assert.equal(state.add(rotation, c["record_id"] as string, "b/log"), true);
  assert.equal(state.add(rotation, c["record_id"] as string, "a/log"), false);
  throwsExactly(() => state.add(loadEntry(text(other["entry"] as string)), c["record_id"] as string, "log"), "RecordError");
  assert.equal(state.size, 1);
  throwsExactly(() => state.resolve(["sha256", "0".repeat(64)], "strict" as Policy), "RecordError");
  assert.deepEqual(state.resolve(["sha256", "0".repeat(64)]), { policy: "verified", claims: [], prefs: {} });
});

test("urlHost: the DNS host without port or trailing dot; none for IP literals (spec §9.4.4)", () => {
  assert.equal(urlHost("https://owner.example/a"), "owner.example");
  assert.equal(urlHost("https://owner.example:8443/a:b"), "owner.example");
  assert.equal(urlHost("http://owner.example./"), "owner.example");
  assert.equal(urlHost("http://192.0.2.1/"), null);
  assert.equal(urlHost("http://[2001:db8::1]:8080/"), null);
});
