/** SHA-256 (FIPS 180-4), the protocol's one hash (spec §0.1), from `@noble/hashes`. */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "./encoding.js";

/** The 32-byte SHA-256 digest of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** Lowercase hex SHA-256 of `data`. */
export function sha256Hex(data: Uint8Array): string {
  return bytesToHex(nobleSha256(data));
}

/** An incremental SHA-256, for hashing a large file chunk by chunk. */
export interface Sha256Hasher {
  update(chunk: Uint8Array): Sha256Hasher;
  digest(): Uint8Array;
}

/** Start an incremental SHA-256: `createSha256().update(a).update(b).digest()`. */
export function createSha256(): Sha256Hasher {
  const inner = nobleSha256.create();
  const hasher: Sha256Hasher = {
    update(chunk) {
      inner.update(chunk);
      return hasher;
    },
    digest() {
      return inner.digest();
    },
  };
  return hasher;
}

/**
 * Lowercase hex SHA-256 of `data` with the platform's native implementation (WebCrypto
 * `crypto.subtle.digest`, several times faster on large files) where there is one (browsers in a
 * secure context, including `http://localhost`, and Node.js 20), else `@noble/hashes`.
 */
export async function sha256HexAsync(data: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle !== undefined) {
    return bytesToHex(new Uint8Array(await subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>)));
  }
  return sha256Hex(data);
}
