// spec/vectors/records.json (spec §2): decode, verify, ids, signing inputs; and the builders.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DEFAULT_CLOCK_SKEW,
  MAX_ENTRY_BYTES,
  checkIssuedAt,
  PrivateKey,
  decodeRecord,
  encodeRecord,
  entrySize,
  loadRecord,
  newDeclaration,
  newWork,
  recordId,
  signDeclaration,
  signingInput,
  verifyRecord,
  sha256Hex,
} from "../src/index.js";
import { hex, text, throwsClass, throwsExactly, vectors } from "./helpers.js";

const decoder = new TextDecoder();

test("records.json: every case", () => {
  const file = vectors("records.json");
  let valid = 0;
  for (const c of file.cases) {
    const entry = c["entry_hex"] !== undefined ? hex(c["entry_hex"] as string) : text(c["entry"] as string);
    if (c.result === "invalid") {
      throwsExactly(() => loadRecord(entry), c.error!, c.name);
      continue;
    }
    valid++;
    const record = loadRecord(entry);
    assert.equal(recordId(entry), c["record_id"], c.name);
    assert.equal(decoder.decode(signingInput(record)), c["signing_input"], c.name);
    assert.equal(record.works.length, c["works"], c.name);
    assert.equal(entry.length, c["size"], c.name);
    assert.deepEqual(encodeRecord(record), entry, c.name);
    assert.equal(entrySize(record), entry.length, c.name);
    verifyRecord(record);
  }
  assert.ok(valid >= 5);
});

const alice = PrivateKey.fromSeed(hex(sha256Hex(text("consent-registry vectors: alice"))));

test("build, sign and load a declaration (spec §2.10)", () => {
  const work = newWork({
    sha256: "b".repeat(64),
    urls: ["HTTPS://Example.com:443/a/../b#x", "https://example.com/b"],
    media_type: "image/png",
  });
  assert.deepEqual(work.urls, ["https://example.com/b"]);
  const unsigned = newDeclaration({
    creator: alice.publicKey.did,
    issued_at: 1767225600,
    works: [work, newWork({ sha256: "a".repeat(64) })],
    prefs: { "train-ai": "n" },
  });
  assert.equal(unsigned.works[0]!.sha256, "a".repeat(64));
  const signed = signDeclaration(unsigned, alice);
  const entry = encodeRecord(signed);
  assert.deepEqual(loadRecord(entry), signed);
  assert.equal(entrySize(unsigned), entry.length);
  const tampered = decoder.decode(entry).replace('"n"', '"y"');
  throwsExactly(() => loadRecord(text(tampered)), "SignatureError");
  const bob = PrivateKey.fromSeed(new Uint8Array(32).fill(7));
  throwsExactly(() => signDeclaration(unsigned, bob), "RecordError");
});

test("a withdrawal has no prefs; duplicate works are refused", () => {
  const work = newWork({ sha256: "c".repeat(64) });
  const withdrawal = newDeclaration({ creator: alice.publicKey.did, issued_at: 1, works: [work], prefs: {}, withdraw: true, supersedes: ["d".repeat(64)] });
  const entry = encodeRecord(signDeclaration(withdrawal, alice));
  assert.ok(decoder.decode(entry).includes('"withdraw":true'));
  assert.equal(decodeRecord(entry).withdraw, true);
  throwsExactly(() => newDeclaration({ creator: alice.publicKey.did, issued_at: 1, works: [work, work], prefs: { "train-ai": "n" } }), "RecordError");
});

test("the entry size limit binds before the work count (spec §2.6)", () => {
  const works = Array.from({ length: 900 }, (_, i) => newWork({ sha256: sha256Hex(text(String(i))) }));
  const unsigned = newDeclaration({ creator: alice.publicKey.did, issued_at: 1, works, prefs: { "train-ai": "n" } });
  assert.ok(entrySize(unsigned) > MAX_ENTRY_BYTES);
  throwsExactly(() => signDeclaration(unsigned, alice), "LimitError");
});

test("a record dated beyond the receiver's clock and skew is refused (spec §2.11)", () => {
  const work = newWork({ sha256: "e".repeat(64) });
  const record = newDeclaration({ creator: alice.publicKey.did, issued_at: 1_000_000 + DEFAULT_CLOCK_SKEW, works: [work], prefs: { "train-ai": "n" } });
  checkIssuedAt(record, 1_000_000);
  throwsExactly(() => checkIssuedAt(record, 999_999), "FutureRecordError");
  throwsClass(() => checkIssuedAt(record, 999_999), "RecordError"); // a subclass, as in Python
  checkIssuedAt(record, 0, 2 ** 40);
});
