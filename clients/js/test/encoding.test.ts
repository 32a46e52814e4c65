// spec/vectors/canonical-json.json, keys.json, urls.json (spec §1, §2.5)
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  PrivateKey,
  PublicKey,
  b58decode,
  b64decode,
  b64encode,
  canonicalJsonText,
  hexToBytes,
  normalizeUrl,
  parseCanonicalJson,
  parseJson,
} from "../src/index.js";
import { hex, text, throwsExactly, toHex, vectors } from "./helpers.js";

test("canonical-json.json: every case", () => {
  const file = vectors("canonical-json.json");
  assert.ok(file.cases.length > 0);
  for (const c of file.cases) {
    const input = c["input_hex"] !== undefined ? hex(c["input_hex"] as string) : text(c["input"] as string);
    const op = c["operation"];
    const run = () => (op === "check" ? canonicalJsonText(parseCanonicalJson(input)) : canonicalJsonText(parseJson(input)));
    if (c.result === "invalid") throwsExactly(run, c.error!, c.name);
    else if (op === "check") assert.equal(run(), c["input"], c.name);
    else assert.equal(run(), c["output"], c.name);
  }
});

test("keys.json: every case", () => {
  const file = vectors("keys.json");
  for (const c of file.cases) {
    if (c.result === "valid") {
      const key = PrivateKey.fromSeed(hex(c["seed"] as string));
      assert.equal(key.publicKey.hex, c["public_key"], c.name);
      assert.equal(key.publicKey.did, c["did"], c.name);
      assert.equal(PublicKey.fromDid(c["did"] as string).hex, c["public_key"], c.name);
      if (c["signature"] !== undefined) {
        const message = hex(c["message"] as string);
        assert.equal(toHex(key.sign(message)), c["signature"], c.name);
        key.publicKey.verify(hex(c["signature"] as string), message);
      }
    } else if (c["did"] !== undefined) {
      throwsExactly(() => PublicKey.fromDid(c["did"] as string), c.error!, c.name);
    } else if (c["signature"] !== undefined) {
      const key = PublicKey.fromBytes(hex(c["public_key"] as string));
      throwsExactly(() => key.verify(hex(c["signature"] as string), hex(c["message"] as string)), c.error!, c.name);
    } else {
      throwsExactly(() => PublicKey.fromBytes(hex(c["public_key"] as string)), c.error!, c.name);
    }
  }
});

test("urls.json: every case, and idempotence", () => {
  const file = vectors("urls.json");
  for (const c of file.cases) {
    if (c.result === "invalid") throwsExactly(() => normalizeUrl(c["input"] as string), c.error!, c.name);
    else {
      assert.equal(normalizeUrl(c["input"] as string), c["output"], c.name);
      assert.equal(normalizeUrl(c["output"] as string), c["output"], c.name);
    }
  }
});

test("strict base64, base58 and hex (spec §1.3)", () => {
  assert.equal(b64encode(text("hi")), "aGk=");
  assert.equal(toHex(b64decode("aGk=")), "6869");
  for (const bad of ["aGk", "aGl=", "aGk==", " aGk=", "aG k=", "aGk=\n", "a-k="]) throwsExactly(() => b64decode(bad), "EncodingError", bad);
  assert.equal(toHex(b58decode("1112")), "00000001");
  throwsExactly(() => b58decode("0OIl"), "EncodingError");
  assert.equal(toHex(hexToBytes("00ff")), "00ff");
  for (const bad of ["0", "FF", "zz"]) throwsExactly(() => hexToBytes(bad), "EncodingError", bad);
  throwsExactly(() => hexToBytes("00", 2), "EncodingError");
});

test("canonicalJsonText refuses values outside the model", () => {
  throwsExactly(() => canonicalJsonText(1.5), "EncodingError");
  throwsExactly(() => canonicalJsonText(2 ** 53), "EncodingError");
  throwsExactly(() => canonicalJsonText("\ud800"), "EncodingError");
  throwsExactly(() => canonicalJsonText(new Date(0)), "EncodingError");
  assert.equal(canonicalJsonText({ b: [true, null], a: -0, "\u{1F600}": 1, "\uFB33": 2 }), '{"a":0,"b":[true,null],"\u{1F600}":1,"\uFB33":2}');
});

test("SHA-256: noble, incremental and WebCrypto agree", async () => {
  const { sha256Hex, sha256HexAsync, createSha256, bytesToHex } = await import("../src/index.js");
  const data = new Uint8Array(3_000_001).map((_, i) => i * 31);
  const expected = sha256Hex(data);
  assert.equal(await sha256HexAsync(data), expected);
  assert.equal(bytesToHex(createSha256().update(data.subarray(0, 1000)).update(data.subarray(1000)).digest()), expected);
  assert.equal(sha256Hex(new Uint8Array(0)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

test("the refused small-order points are the curve's torsion subgroup (spec §1.4.4)", async () => {
  const { ED25519_TORSION_SUBGROUP, ed25519 } = await import("@noble/curves/ed25519.js");
  const { pointEncodingProblem } = await import("../src/index.js");
  assert.equal(ED25519_TORSION_SUBGROUP.length, 8);
  for (const encoded of ED25519_TORSION_SUBGROUP) {
    const point = ed25519.Point.fromHex(encoded);
    assert.ok(point.multiply(8n).equals(ed25519.Point.ZERO) || point.clearCofactor().is0());
    assert.equal(pointEncodingProblem(hex(point.toHex())), "a small-order point", encoded);
  }
  assert.equal(pointEncodingProblem(PrivateKey.fromSeed(new Uint8Array(32)).publicKey.raw), null);
  assert.match(pointEncodingProblem(hex("ed" + "ff".repeat(30) + "7f")) ?? "", /non-canonical/);
});
