// Creator key files, the same format as the Python CLI's `consent keygen`
// (clients/python/consent/keyfile.py, `consent-registry-key/v1`): the Ed25519 seed sealed with
// ChaCha20-Poly1305 under a scrypt key of the passphrase, the other members as associated data
// (their canonical JSON), so a file made here opens with `consent` and the reverse.
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { randomBytes } from "@noble/hashes/utils.js";
import { b64decode, b64encode, canonicalJson, PrivateKey, PublicKey } from "./protocol";

export const KEY_FORMAT = "consent-registry-key/v1";
export const DEFAULT_SCRYPT_N = 2 ** 17; // 128 MiB, as the CLI's default
const R = 8;
const P = 1;
const MIN_N = 2 ** 10;
const MAX_N = 2 ** 22;

export class KeyFileError extends Error {
  constructor(
    readonly reason: "malformed" | "wrong-passphrase",
    message: string,
  ) {
    super(message);
    this.name = "KeyFileError";
  }
}

export interface KeyFile {
  format: string;
  did: string;
  kdf: { name: "scrypt"; n: number; r: number; p: number; salt: string };
  cipher: { name: "chacha20-poly1305"; nonce: string };
  ciphertext: string;
}

function header(did: string, n: number, salt: Uint8Array, nonce: Uint8Array) {
  return {
    format: KEY_FORMAT,
    did,
    kdf: { name: "scrypt" as const, n, r: R, p: P, salt: b64encode(salt) },
    cipher: { name: "chacha20-poly1305" as const, nonce: b64encode(nonce) },
  };
}

function kek(passphrase: string, salt: Uint8Array, n: number): Promise<Uint8Array> {
  return scryptAsync(new TextEncoder().encode(passphrase), salt, { N: n, r: R, p: P, dkLen: 32, asyncTick: 50 });
}

/** Seal `key` under `passphrase` into a key file document. */
export async function sealKey(key: PrivateKey, passphrase: string, n = DEFAULT_SCRYPT_N): Promise<KeyFile> {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const head = header(key.publicKey.did, n, salt, nonce);
  const sealed = chacha20poly1305(await kek(passphrase, salt, n), nonce, canonicalJson(head)).encrypt(key.seed);
  return { ...head, ciphertext: b64encode(sealed) };
}

/** Parse a key file's text, checking its shape (not its passphrase). Throws KeyFileError. */
export function parseKeyFile(text: string): KeyFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = null;
  }
  const d = doc as Partial<KeyFile> | null;
  const n = d?.kdf?.n;
  if (
    d === null ||
    typeof d !== "object" ||
    d.format !== KEY_FORMAT ||
    typeof d.did !== "string" ||
    d.kdf?.name !== "scrypt" ||
    d.kdf.r !== R ||
    d.kdf.p !== P ||
    typeof n !== "number" ||
    !Number.isInteger(n) ||
    n < MIN_N ||
    n > MAX_N ||
    d.cipher?.name !== "chacha20-poly1305" ||
    typeof d.ciphertext !== "string"
  ) {
    throw new KeyFileError("malformed", "not a consent-registry key file");
  }
  try {
    PublicKey.fromDid(d.did);
  } catch {
    throw new KeyFileError("malformed", "the key file's did is malformed");
  }
  return d as KeyFile;
}

/** Open a key file with its passphrase. Throws KeyFileError. */
export async function openKey(file: KeyFile, passphrase: string): Promise<PrivateKey> {
  let salt: Uint8Array, nonce: Uint8Array, sealed: Uint8Array;
  try {
    salt = b64decode(file.kdf.salt);
    nonce = b64decode(file.cipher.nonce);
    sealed = b64decode(file.ciphertext);
  } catch {
    throw new KeyFileError("malformed", "not a consent-registry key file");
  }
  const head = header(file.did, file.kdf.n, salt, nonce);
  let seed: Uint8Array;
  try {
    seed = chacha20poly1305(await kek(passphrase, salt, file.kdf.n), nonce, canonicalJson(head)).decrypt(sealed);
  } catch {
    throw new KeyFileError("wrong-passphrase", "wrong passphrase, or the file was altered");
  }
  const key = PrivateKey.fromSeed(seed);
  if (key.publicKey.did !== file.did) {
    throw new KeyFileError("malformed", "the key does not match the file's did");
  }
  return key;
}

/** The key file's text, as the CLI writes it (sorted members, two-space indent). */
export function keyFileText(file: KeyFile): string {
  const sort = (v: unknown): unknown =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, sort(x)]))
      : v;
  return `${JSON.stringify(sort(file), null, 2)}\n`;
}
