// Key files (consent-registry-key/v1) interchangeable with the Python SDK's `consent keygen`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PrivateKey, decryptKeyFile, encryptKeyFile, readKeyFileDid } from "../src/index.js";
import { fixture, hex, toHex } from "./helpers.js";

interface KeyFileAnswer {
  text: string;
  passphrase: string;
  seed: string;
  salt: string;
  nonce: string;
  n: number;
  did: string;
}
const answer = fixture<{ keyfile: KeyFileAnswer }>("python-answers.json").keyfile;

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => error.name === "KeyFileError" && pattern.test(error.message));
}

test("a key file written by the Python SDK opens here", async () => {
  assert.equal(readKeyFileDid(answer.text), answer.did);
  const key = await decryptKeyFile(answer.text, answer.passphrase);
  assert.equal(toHex(key.seed), answer.seed);
  assert.equal(key.publicKey.did, answer.did);
});

test("a key file written here is byte for byte the one the Python SDK writes (so it opens there)", async () => {
  const key = PrivateKey.fromSeed(hex(answer.seed));
  const text = await encryptKeyFile(key, answer.passphrase, { scryptN: answer.n, salt: hex(answer.salt), nonce: hex(answer.nonce) });
  assert.equal(text, answer.text);
});

test("wrong passphrase, altered file, malformed file", async () => {
  await rejects(decryptKeyFile(answer.text, "not it"), /wrong passphrase/);
  const altered = answer.text.replace(answer.did, PrivateKey.fromSeed(new Uint8Array(32).fill(9)).publicKey.did);
  await rejects(decryptKeyFile(altered, answer.passphrase), /wrong passphrase/);
  await rejects(decryptKeyFile(answer.text.replace('"n": 1024', '"n": 512'), answer.passphrase), /malformed/);
  await rejects(decryptKeyFile("{}", answer.passphrase), /not a consent-registry key file/);
  await rejects(encryptKeyFile(PrivateKey.generate(), ""), /passphrase is required/);
  await rejects(encryptKeyFile(PrivateKey.generate(), "x", { scryptN: 3000 }), /power of two/);
});

test("a new key round-trips with random salt and nonce", async () => {
  const key = PrivateKey.generate();
  const text = await encryptKeyFile(key, "pass", { scryptN: 2 ** 10 });
  assert.equal(readKeyFileDid(text), key.publicKey.did);
  assert.deepEqual((await decryptKeyFile(text, "pass")).seed, key.seed);
});
