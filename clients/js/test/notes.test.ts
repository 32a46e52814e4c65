// spec/vectors/notes.json, checkpoints.json, receipts.json (spec §5) and the Go sumdb/note vectors
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import {
  NoteSigner,
  NoteVerifier,
  addCosignatures,
  buildReceipt,
  checkpointText,
  cosignCheckpoint,
  inclusionProof,
  leafHash,
  newCheckpoint,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseReceipt,
  rootFromLeafHashes,
  signCheckpoint,
  signNote,
  verifyReceipt,
} from "../src/index.js";
import { SHARED, fromB64, hex, loadJson, text, throwsExactly, toHex, vectors } from "./helpers.js";

const decoder = new TextDecoder();

test("notes.json: every case", () => {
  for (const c of vectors("notes.json").cases) {
    const kind = c["kind"];
    if (kind === "key") {
      const signer = NoteSigner.fromSkey(c["skey"] as string);
      assert.equal(signer.skey, c["skey"], c.name);
      assert.equal(signer.verifier.vkey, c["vkey"], c.name);
      assert.equal(toHex(signer.keyId), c["key_id"], c.name);
      assert.equal(signer.alg, c["alg"], c.name);
      assert.equal(new NoteSigner(c["key_name"] as string, hex(c["seed"] as string), c["alg"] as number).skey, c["skey"], c.name);
      assert.equal(NoteVerifier.fromVkey(c["vkey"] as string).vkey, c["vkey"], c.name);
    } else if (kind === "sign") {
      const signers = (c["skeys"] as string[]).map((s) => NoteSigner.fromSkey(s));
      assert.equal(decoder.decode(signNote(c["text"] as string, signers)), c["note"], c.name);
    } else if (kind === "open") {
      const verifiers = (c["vkeys"] as string[]).map((v) => NoteVerifier.fromVkey(v));
      const run = () => openNote(text(c["note"] as string), verifiers);
      if (c.result === "invalid") throwsExactly(run, c.error!, c.name);
      else {
        const note = run();
        assert.equal(note.text, c["text"], c.name);
        assert.deepEqual(note.signatures.map((s) => s.name), c["verified"], c.name);
        assert.deepEqual(note.unverified.map((s) => s.name), c["unverified"], c.name);
        if (c["timestamps"] !== undefined) assert.deepEqual(note.signatures.map((s) => s.timestamp), c["timestamps"], c.name);
      }
    } else if (kind === "vkey") throwsExactly(() => NoteVerifier.fromVkey(c["vkey"] as string), c.error!, c.name);
    else if (kind === "skey") throwsExactly(() => NoteSigner.fromSkey(c["skey"] as string), c.error!, c.name);
    else assert.fail(`unknown kind ${String(kind)}`);
  }
});

interface GoNotes {
  notes: { vkey: string; skey?: string; text: string; signature_line: string }[];
  bad_vkeys: string[];
}

test("golang/mod sumdb/note vectors (shared): same keys, same signature lines", () => {
  const go = loadJson<GoNotes>(join(SHARED, "signed-note-go.json"));
  for (const n of go.notes) {
    const verifier = NoteVerifier.fromVkey(n.vkey);
    const note = text(`${n.text}\n${n.signature_line}`);
    assert.equal(openNote(note, [verifier]).text, n.text);
    if (n.skey !== undefined) {
      const signer = NoteSigner.fromSkey(n.skey);
      assert.equal(signer.verifier.vkey, n.vkey);
      assert.equal(decoder.decode(signNote(n.text, [signer])), `${n.text}\n${n.signature_line}`);
    }
  }
  for (const bad of go.bad_vkeys) throwsExactly(() => NoteVerifier.fromVkey(bad), "KeyFormatError", bad);
});

test("checkpoints.json: every case", () => {
  for (const c of vectors("checkpoints.json").cases) {
    if (c["kind"] === "body") {
      const run = () => parseCheckpoint(c["text"] as string);
      if (c.result === "invalid") throwsExactly(run, c.error!, c.name);
      else {
        const cp = run();
        assert.equal(cp.origin, c["origin"], c.name);
        assert.equal(cp.size, c["size"], c.name);
        assert.deepEqual(cp.rootHash, fromB64(c["root_hash"] as string), c.name);
        assert.deepEqual(cp.extensions, c["extensions"], c.name);
        assert.equal(checkpointText(cp), c["text"], c.name);
      }
      continue;
    }
    const log = NoteVerifier.fromVkey(c["log_vkey"] as string);
    const witnesses = (c["witness_vkeys"] as string[]).map((v) => NoteVerifier.fromVkey(v));
    const run = () => openCheckpoint(text(c["note"] as string), log, { witnesses, minWitnesses: c["min_witnesses"] as number });
    if (c.result === "invalid") throwsExactly(run, c.error!, c.name);
    else {
      const signed = run();
      assert.deepEqual(
        signed.cosignatures.map((s) => ({ name: s.name, key_id: toHex(s.keyId), timestamp: s.timestamp })),
        c["cosignatures"],
        c.name,
      );
    }
  }
});

test("sign, cosign and attach cosignatures (spec §5.6)", () => {
  const keys = vectors("notes.json").cases.filter((c) => c["kind"] === "key");
  const skey = (name: string) => NoteSigner.fromSkey(keys.find((c) => c.name === name)!["skey"] as string);
  const logSigner = skey("key-log");
  const witness = skey("key-witness");
  const cp = newCheckpoint(logSigner.name, 3, rootFromLeafHashes([1, 2, 3].map((i) => leafHash(text(`e${i}`)))));
  const note = signCheckpoint(cp, logSigner);
  const line = cosignCheckpoint(note, logSigner.verifier, witness, 1767225600);
  const cosigned = addCosignatures(note, line + "\n", logSigner.verifier, [witness.verifier]);
  const opened = openCheckpoint(cosigned, logSigner.verifier, { witnesses: [witness.verifier], minWitnesses: 1 });
  assert.equal(opened.cosignatures[0]!.timestamp, 1767225600);
  throwsExactly(() => addCosignatures(note, line + "\n", logSigner.verifier, []), "NoteError");
  throwsExactly(() => signCheckpoint(newCheckpoint("another/log", 0, new Uint8Array(32)), logSigner), "CheckpointError");
});

test("receipts.json: every case", () => {
  const file = vectors("receipts.json");
  for (const c of file.cases) {
    const log = NoteVerifier.fromVkey(c["log_vkey"] as string);
    const witnesses = (c["witness_vkeys"] as string[]).map((v) => NoteVerifier.fromVkey(v));
    const run = () => verifyReceipt(c["receipt"] as string, fromB64(c["entry"] as string), log, { witnesses, minWitnesses: c["min_witnesses"] as number });
    if (c.result === "invalid") throwsExactly(run, c.error!, c.name);
    else {
      const verified = run();
      assert.equal(verified.index, c["index"], c.name);
      assert.equal(verified.signedCheckpoint.checkpoint.size, file["log_size"], c.name);
      const parsed = parseReceipt(c["receipt"] as string);
      assert.equal(buildReceipt(parsed.index, parsed.proof, parsed.checkpointNote, parsed.extra), c["receipt"], c.name);
    }
  }
});

test("a receipt built here verifies; tampering is a ReceiptError (spec §5.8)", () => {
  const keys = vectors("notes.json").cases.filter((c) => c["kind"] === "key");
  const signer = NoteSigner.fromSkey(keys.find((c) => c.name === "key-log")!["skey"] as string);
  const entries = Array.from({ length: 5 }, (_, i) => text(`entry ${i}`));
  const leaves = entries.map(leafHash);
  const note = signCheckpoint(newCheckpoint(signer.name, 5, rootFromLeafHashes(leaves)), signer);
  const receipt = buildReceipt(3, inclusionProof(3, leaves), note, text("opaque"));
  const verified = verifyReceipt(receipt, entries[3]!, signer.verifier);
  assert.equal(decoder.decode(verified.extra!), "opaque");
  const error = throwsExactly(() => verifyReceipt(receipt, entries[2]!, signer.verifier), "ReceiptError");
  void error;
  throwsExactly(() => parseReceipt(receipt.replace("index 3", "index 03")), "ReceiptError");
  throwsExactly(() => parseReceipt(receipt.replace("\n", "\r\n")), "ReceiptError");
});
