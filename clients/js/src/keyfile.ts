/**
 * Creator key files (`consent-registry-key/v1`), the format of the Python SDK's `consent keygen`
 * (`clients/python/consent/keyfile.py`), so that a key made in a browser opens in the CLI and
 * back: an Ed25519 seed sealed with ChaCha20-Poly1305 (RFC 8439) under a key derived from the
 * passphrase by scrypt (RFC 7914, r = 8, p = 1); the associated data is the canonical JSON of every
 * other member, so a changed `did`, KDF parameter or nonce makes opening fail. The `did` is
 * readable without the passphrase. scrypt and ChaCha20-Poly1305 come from `@noble/hashes` and
 * `@noble/ciphers`; scrypt runs asynchronously so that a page stays responsive (n = 2^17 costs
 * 128 MiB).
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { b64decode, b64encode, canonicalJson } from "./encoding.js";
import { ProtocolError } from "./errors.js";
import { PrivateKey, PublicKey } from "./keys.js";

export const KEY_FORMAT = "consent-registry-key/v1";
export const DEFAULT_SCRYPT_N = 2 ** 17;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const MIN_SCRYPT_N = 2 ** 10;
const MAX_SCRYPT_N = 2 ** 22;

/** A key file is missing a part, malformed, or does not open with the passphrase. */
export class KeyFileError extends ProtocolError {
  static override readonly slug: string = "bad-key-file";
  override readonly name: string = "KeyFileError";
  override readonly slug: string = "bad-key-file";
}

function header(did: string, n: number, salt: Uint8Array, nonce: Uint8Array): Record<string, unknown> {
  return {
    format: KEY_FORMAT,
    did,
    kdf: { name: "scrypt", n, r: SCRYPT_R, p: SCRYPT_P, salt: b64encode(salt) },
    cipher: { name: "chacha20-poly1305", nonce: b64encode(nonce) },
  };
}

function kek(passphrase: string, salt: Uint8Array, n: number, onProgress?: (fraction: number) => void): Promise<Uint8Array> {
  return scryptAsync(new TextEncoder().encode(passphrase), salt, {
    N: n,
    r: SCRYPT_R,
    p: SCRYPT_P,
    dkLen: 32,
    maxmem: 2 ** 31,
    ...(onProgress ? { onProgress } : {}),
  });
}

/** JSON with sorted keys, two-space indent and a final newline: Python's `json.dumps(indent=2, sort_keys=True)`. */
function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
      : v;
  return JSON.stringify(sort(value), null, 2) + "\n";
}

/** Options of {@link encryptKeyFile}. `salt` and `nonce` are for tests; leave them random. */
export interface EncryptKeyOptions {
  scryptN?: number;
  salt?: Uint8Array;
  nonce?: Uint8Array;
  onProgress?: (fraction: number) => void;
}

/**
 * The text of a key file holding `key` under `passphrase` (what `consent keygen` writes). Throws
 * {@link KeyFileError} for an empty passphrase or an `n` that is not a power of two in 2^10..2^22.
 */
export async function encryptKeyFile(key: PrivateKey, passphrase: string, options: EncryptKeyOptions = {}): Promise<string> {
  if (!passphrase) throw new KeyFileError("a passphrase is required to protect the key file");
  const n = options.scryptN ?? DEFAULT_SCRYPT_N;
  if (!(Number.isInteger(n) && n >= MIN_SCRYPT_N && n <= MAX_SCRYPT_N) || n & (n - 1)) {
    throw new KeyFileError(`scrypt n must be a power of two in [2^10, 2^22], not ${n}`);
  }
  const random = (length: number) => globalThis.crypto.getRandomValues(new Uint8Array(length));
  const salt = options.salt ?? random(16);
  const nonce = options.nonce ?? random(12);
  const head = header(key.publicKey.did, n, salt, nonce);
  const sealed = chacha20poly1305(await kek(passphrase, salt, n, options.onProgress), nonce, canonicalJson(head)).encrypt(key.seed);
  return sortedJson({ ...head, ciphertext: b64encode(sealed) });
}

function parse(text: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    document = null;
  }
  if (typeof document !== "object" || document === null || Array.isArray(document) || (document as Record<string, unknown>)["format"] !== KEY_FORMAT) {
    throw new KeyFileError(`not a consent-registry key file (${KEY_FORMAT})`);
  }
  return document as Record<string, unknown>;
}

/** The creator `did:key` of a key file, without the passphrase. */
export function readKeyFileDid(text: string): string {
  const did = parse(text)["did"];
  try {
    return PublicKey.fromDid(String(did)).did;
  } catch (cause) {
    throw new KeyFileError(`malformed did: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Open a key file with its passphrase. Throws {@link KeyFileError} for a malformed file, a wrong
 * passphrase (or an altered file), or a key that does not match the file's `did`.
 */
export async function decryptKeyFile(text: string, passphrase: string, onProgress?: (fraction: number) => void): Promise<PrivateKey> {
  const document = parse(text);
  const kdf = document["kdf"] as Record<string, unknown> | undefined;
  const cipher = document["cipher"] as Record<string, unknown> | undefined;
  const malformed = () => new KeyFileError("malformed key file");
  if (typeof kdf !== "object" || kdf === null || typeof cipher !== "object" || cipher === null) throw malformed();
  const n = kdf["n"];
  if (
    kdf["name"] !== "scrypt" ||
    kdf["r"] !== SCRYPT_R ||
    kdf["p"] !== SCRYPT_P ||
    cipher["name"] !== "chacha20-poly1305" ||
    typeof n !== "number" ||
    !Number.isInteger(n) ||
    n < MIN_SCRYPT_N ||
    n > MAX_SCRYPT_N
  ) {
    throw malformed();
  }
  let salt: Uint8Array;
  let nonce: Uint8Array;
  let sealed: Uint8Array;
  try {
    salt = b64decode(String(kdf["salt"]));
    nonce = b64decode(String(cipher["nonce"]));
    sealed = b64decode(String(document["ciphertext"]));
  } catch {
    throw malformed();
  }
  const did = String(document["did"]);
  if (!passphrase) throw new KeyFileError("the key file is encrypted: give its passphrase");
  let seed: Uint8Array;
  try {
    seed = chacha20poly1305(await kek(passphrase, salt, n, onProgress), nonce, canonicalJson(header(did, n, salt, nonce))).decrypt(sealed);
  } catch {
    throw new KeyFileError("wrong passphrase (or the file was altered)");
  }
  const key = PrivateKey.fromSeed(seed);
  if (key.publicKey.did !== did) throw new KeyFileError("the key does not match the file's did");
  return key;
}
