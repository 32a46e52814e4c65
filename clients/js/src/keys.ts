/**
 * Ed25519 keys, signatures and `did:key` creator identifiers (spec §1.4, §1.5). Mirrors
 * `registry/core/keys.py`.
 *
 * Signing is RFC 8032 Ed25519 by `@noble/curves`. Verification must give the verdicts of the
 * reference node, which refuses small-order and non-canonical points for keys and `R` by a
 * byte-level check (spec §1.4.4, {@link pointEncodingProblem}) and then verifies with OpenSSL
 * (spec §1.4.3). OpenSSL's `ossl_ed25519_verify`
 * rejects `S >= L`, decodes `A` leniently (a `y` coordinate at or above p is reduced, `x = 0`
 * with the sign bit set is accepted), and then checks the *cofactorless* equation by comparing
 * the encoding of `[S]B - [k]A` with the bytes of `R` (so a non-canonical `R` never verifies).
 * `@noble/curves`' own `verify` checks the cofactored equation, which accepts some signatures
 * OpenSSL rejects; so {@link PublicKey.verify} composes noble's point operations (decoding,
 * scalar multiplication, encoding) and SHA-512 into OpenSSL's check. No field or curve
 * arithmetic is written here. The test `ed25519.test.ts` pins the verdict on every case of
 * C2SP CCTV's edge-case vectors against the Python node's answers.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { b58decode, b58encode, bytesToHex, concatBytes } from "./encoding.js";
import { EncodingError, KeyFormatError, SignatureError } from "./errors.js";

export const PUBLIC_KEY_SIZE = 32;
export const SEED_SIZE = 32;
export const SIGNATURE_SIZE = 64;
export const DID_KEY_PREFIX = "did:key:";
/** spec §1.5: multicodec `ed25519-pub` (0xed) as the unsigned varint 0xed 0x01. */
export const ED25519_PUB_MULTICODEC = new Uint8Array([0xed, 0x01]);
// "did:key:" + "z" + base58btc of 34 bytes is 56 characters; longer input is rejected before
// base58 decoding (quadratic in its length).
const MAX_DID_LENGTH = 64;

const Point = ed25519.Point;
const L = Point.CURVE().n;

// spec §1.4.4: the field prime, and the canonical encodings of the eight small-order points
// (the torsion subgroup E[8]); `encoding.test.ts` checks them against noble's list.
const P = 2n ** 255n - 19n;
const SMALL_ORDER = new Set([
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
]);

/**
 * Why a 32-byte point encoding is refused by spec §1.4.4, or null if it is not: a non-canonical
 * encoding (y >= p, or x = 0 written with the sign bit set) or the encoding of a small-order
 * point. A byte-level check, before any curve arithmetic.
 */
export function pointEncodingProblem(encoded: Uint8Array): string | null {
  const y = bytesToNumberLE(encoded) & ((1n << 255n) - 1n);
  if (y >= P) return "non-canonical encoding (y >= p)";
  if (encoded[31]! & 0x80 && (y === 1n || y === P - 1n)) return "non-canonical encoding (x = 0 with the sign bit set)";
  if (SMALL_ORDER.has(bytesToHex(encoded))) return "a small-order point";
  return null;
}

function bytesToNumberLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** An Ed25519 public key: verifies signatures and names a creator by `did:key`. */
export class PublicKey {
  private constructor(readonly raw: Uint8Array) {}

  /**
   * Load a 32-byte RFC 8032 public key. Throws {@link KeyFormatError} if it is not 32 bytes, or is
   * a small-order point or a non-canonical encoding (spec §1.4.4): anyone could write as it.
   */
  static fromBytes(raw: Uint8Array): PublicKey {
    if (raw.length !== PUBLIC_KEY_SIZE) {
      throw new KeyFormatError(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
    }
    const problem = pointEncodingProblem(raw);
    if (problem !== null) throw new KeyFormatError(`refused Ed25519 public key: ${problem} (spec §1.4.4)`);
    return new PublicKey(Uint8Array.from(raw));
  }

  /**
   * Parse a `did:key` Ed25519 identifier (spec §1.5.2). Throws {@link KeyFormatError} unless
   * `did` is exactly `did:key:z` and the base58btc of 0xed 0x01 and 32 key bytes.
   */
  static fromDid(did: string): PublicKey {
    if (did.length > MAX_DID_LENGTH || !did.startsWith(DID_KEY_PREFIX + "z")) {
      throw new KeyFormatError(`not an Ed25519 did:key: ${JSON.stringify(did.slice(0, MAX_DID_LENGTH))}`);
    }
    let decoded: Uint8Array;
    try {
      decoded = b58decode(did.slice(DID_KEY_PREFIX.length + 1));
    } catch (cause) {
      if (cause instanceof EncodingError) {
        throw new KeyFormatError(`did:key is not base58btc: ${cause.message}`, { cause });
      }
      throw cause;
    }
    if (decoded[0] !== 0xed || decoded[1] !== 0x01) {
      throw new KeyFormatError("did:key does not hold an ed25519-pub (0xed01) key");
    }
    return PublicKey.fromBytes(decoded.subarray(2));
  }

  /** The `did:key` identifier of this key (spec §1.5.1). */
  get did(): string {
    return DID_KEY_PREFIX + "z" + b58encode(concatBytes(ED25519_PUB_MULTICODEC, this.raw));
  }

  /** Lowercase hex of the 32 key bytes. */
  get hex(): string {
    return bytesToHex(this.raw);
  }

  /**
   * Check an Ed25519 signature over `message` (spec §1.4.3, §1.4.4). Throws
   * {@link SignatureError} if `signature` is not 64 bytes, if its `R` is a small-order point or a
   * non-canonical encoding, or if it does not verify (OpenSSL's cofactorless check).
   */
  verify(signature: Uint8Array, message: Uint8Array): void {
    if (signature.length !== SIGNATURE_SIZE) {
      throw new SignatureError(`an Ed25519 signature is 64 bytes, got ${signature.length}`);
    }
    const problem = pointEncodingProblem(signature.subarray(0, 32));
    if (problem !== null) throw new SignatureError(`refused Ed25519 signature: R is ${problem} (spec §1.4.4)`);
    if (!openSslVerify(signature, message, this.raw)) {
      throw new SignatureError(`signature does not verify under ${this.did}`);
    }
  }

  equals(other: PublicKey): boolean {
    return bytesToHex(this.raw) === bytesToHex(other.raw);
  }

  toString(): string {
    return this.did;
  }
}

function openSslVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const r = signature.subarray(0, 32);
  const s = bytesToNumberLE(signature.subarray(32));
  if (s >= L) return false; // RFC 8032 §5.1.7 step 1: S must be canonical
  let a;
  try {
    a = Point.fromBytes(publicKey, true); // lenient decoding of A, as OpenSSL's
  } catch {
    return false; // not a point
  }
  const k = bytesToNumberLE(sha512(concatBytes(r, publicKey, message))) % L;
  // cofactorless: encode [S]B - [k]A and compare with R's bytes
  const sB = s === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(s);
  const kA = k === 0n ? Point.ZERO : a.multiplyUnsafe(k);
  const check = sB.subtract(kA).toBytes();
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= check[i]! ^ r[i]!;
  return diff === 0;
}

/** An Ed25519 signing key made from a 32-byte seed (RFC 8032 §5.1.5). */
export class PrivateKey {
  readonly publicKey: PublicKey;
  private constructor(private readonly secret: Uint8Array) {
    this.publicKey = PublicKey.fromBytes(ed25519.getPublicKey(secret));
  }

  /** Load a key from its 32-byte seed; throws {@link KeyFormatError} otherwise. */
  static fromSeed(seed: Uint8Array): PrivateKey {
    if (seed.length !== SEED_SIZE) {
      throw new KeyFormatError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
    }
    return new PrivateKey(Uint8Array.from(seed));
  }

  /**
   * A new key from the platform's cryptographically secure generator (`crypto.getRandomValues`,
   * in browsers and Node.js 20), as spec §1.4.1 requires.
   */
  static generate(): PrivateKey {
    const seed = new Uint8Array(SEED_SIZE);
    globalThis.crypto.getRandomValues(seed);
    return new PrivateKey(seed);
  }

  /** The 32-byte seed (the RFC 8032 private key). Keep it secret. */
  get seed(): Uint8Array {
    return Uint8Array.from(this.secret);
  }

  /** The 64-byte deterministic Ed25519 signature of `message` (RFC 8032 §5.1.6). */
  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.secret);
  }

  toString(): string {
    return `PrivateKey(public=${this.publicKey.did})`; // never show the seed
  }
}
