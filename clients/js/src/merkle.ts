/**
 * The log's Merkle tree (spec §4.1-§4.2): RFC 6962 hashing, roots, and inclusion and consistency
 * proofs verified exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 say. Mirrors the verification half of
 * `registry/core/merkle.py`; proofs are computed here from leaf hashes (for tests and small logs),
 * a node derives them from its tiles.
 */
import { bytesEqual, concatBytes } from "./encoding.js";
import { ConsistencyProofError, InclusionProofError, ProofError } from "./errors.js";
import { sha256 } from "./hash.js";

export const HASH_SIZE = 32;
/** The root of the empty tree: SHA-256 of nothing (spec §4.1.3). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

/** RFC 6962 §2.1 leaf hash of an entry: SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF, entry));
}

function node(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE, left, right));
}

type ProofErrorClass = typeof ProofError | typeof InclusionProofError | typeof ConsistencyProofError;

function checkHash(value: Uint8Array, error: ProofErrorClass, what: string): void {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) {
    throw new error(`${what} must be a ${HASH_SIZE}-byte hash, got ${value?.length} bytes`);
  }
}

function checkSize(value: number, error: ProofErrorClass, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new error(`${what} must be a non-negative integer, got ${value}`);
}

/** RFC 6962 §2.1 interior node hash SHA-256(0x01 || left || right); {@link ProofError} if not 32 bytes. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  checkHash(left, ProofError, "left child");
  checkHash(right, ProofError, "right child");
  return node(left, right);
}

function mth(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return EMPTY_ROOT;
  let level = hashes;
  while (level.length > 1) {
    const paired: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) paired.push(node(level[i]!, level[i + 1]!));
    if (level.length % 2) paired.push(level[level.length - 1]!);
    level = paired;
  }
  return level[0]!;
}

/** The Merkle Tree Hash (RFC 6962 §2.1) of a list of leaf hashes (spec §4.1.3). */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  leafHashes.forEach((h, i) => checkHash(h, ProofError, `leaf hash ${i}`));
  return mth([...leafHashes]);
}

/** Shift both right by one (fn, sn as in RFC 9162 §2.1.3.2). */
const half = (n: number): number => Math.floor(n / 2);
const odd = (n: number): boolean => n % 2 === 1;

/**
 * Check that `leaf` is entry `index` of the tree of `size` whose root is `root` (RFC 9162
 * §2.1.3.2, spec §4.2.1). Throws {@link InclusionProofError} if a hash is not 32 bytes,
 * `index >= size`, the proof is too long or short, or the computed root differs.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkSize(index, InclusionProofError, "leaf index");
  checkSize(size, InclusionProofError, "tree size");
  checkHash(leaf, InclusionProofError, "leaf hash");
  checkHash(root, InclusionProofError, "root hash");
  proof.forEach((p, i) => checkHash(p, InclusionProofError, `proof element ${i}`));
  if (index >= size) throw new InclusionProofError(`leaf index ${index} is not below tree size ${size}`);
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) throw new InclusionProofError("inclusion proof is longer than the path to the root");
    if (odd(fn) || fn === sn) {
      r = node(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = node(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new InclusionProofError("inclusion proof is shorter than the path to the root");
  if (!bytesEqual(r, root)) throw new InclusionProofError("inclusion proof does not lead to the root hash");
}

/**
 * Check that the tree of `newSize` with `newRoot` extends the tree of `oldSize` with `oldRoot`
 * (RFC 9162 §2.1.4.2, spec §4.2.2). A proof from size 0 is never accepted; equal sizes need an
 * empty proof and equal roots. Throws {@link ConsistencyProofError}.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): void {
  checkSize(oldSize, ConsistencyProofError, "old tree size");
  checkSize(newSize, ConsistencyProofError, "new tree size");
  checkHash(oldRoot, ConsistencyProofError, "old root hash");
  checkHash(newRoot, ConsistencyProofError, "new root hash");
  proof.forEach((c, i) => checkHash(c, ConsistencyProofError, `proof element ${i}`));
  if (oldSize === 0) throw new ConsistencyProofError("a consistency proof from the empty tree proves nothing");
  if (oldSize > newSize) throw new ConsistencyProofError(`old size ${oldSize} is larger than new size ${newSize}`);
  if (oldSize === newSize) {
    if (proof.length) throw new ConsistencyProofError("a proof between equal sizes must be empty");
    if (!bytesEqual(oldRoot, newRoot)) throw new ConsistencyProofError("equal tree sizes but different root hashes");
    return;
  }
  if (proof.length === 0) throw new ConsistencyProofError("consistency proof is empty");
  const path = [...proof];
  const isPowerOfTwo = Number.isInteger(Math.log2(oldSize)); // exact for the safe integers
  if (isPowerOfTwo) path.unshift(oldRoot);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw new ConsistencyProofError("consistency proof is longer than expected");
    if (odd(fn) || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      while (!odd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = node(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw new ConsistencyProofError("consistency proof is shorter than expected");
  if (!bytesEqual(fr, oldRoot)) throw new ConsistencyProofError("consistency proof does not lead to the old root hash");
  if (!bytesEqual(sr, newRoot)) throw new ConsistencyProofError("consistency proof does not lead to the new root hash");
}

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function path(m: number, leaves: Uint8Array[]): Uint8Array[] {
  // RFC 6962 §2.1.1 PATH(m, D[n])
  const n = leaves.length;
  if (n <= 1) return [];
  const k = largestPowerOfTwoBelow(n);
  if (m < k) return [...path(m, leaves.slice(0, k)), mth(leaves.slice(k))];
  return [...path(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}

function subproof(m: number, leaves: Uint8Array[], complete: boolean): Uint8Array[] {
  // RFC 6962 §2.1.2 SUBPROOF(m, D[n], b)
  const n = leaves.length;
  if (m === n) return complete ? [] : [mth(leaves)];
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) return [...subproof(m, leaves.slice(0, k), complete), mth(leaves.slice(k))];
  return [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}

/** The inclusion proof of leaf `index` among `leafHashes` (RFC 6962 §2.1.1), leaf to root. */
export function inclusionProof(index: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  if (!(Number.isSafeInteger(index) && index >= 0 && index < leafHashes.length)) {
    throw new InclusionProofError(`leaf index ${index} is not below tree size ${leafHashes.length}`);
  }
  return path(index, [...leafHashes]);
}

/** The consistency proof from size `oldSize` to the tree of `leafHashes` (RFC 6962 §2.1.2). */
export function consistencyProof(oldSize: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  if (!(Number.isSafeInteger(oldSize) && oldSize > 0 && oldSize <= leafHashes.length)) {
    throw new ConsistencyProofError(`no consistency proof from size ${oldSize} to ${leafHashes.length}`);
  }
  return subproof(oldSize, [...leafHashes], true);
}
