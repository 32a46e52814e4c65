/**
 * Offline snapshots (spec §8): subject keys, the 3-wise binary fuse filter (lookup, §8.4.2, and
 * the recommended construction, §8.4.3), the signed header, the file container, verification
 * (§8.5) and chains (§8.7). Mirrors `registry/core/snapshot.py`. Keys, seeds and hashes are
 * 64-bit unsigned integers, held as `bigint`.
 */
import { b64decode, b64encode, bytesEqual, bytesToHex, concatBytes, isWellFormed } from "./encoding.js";
import { EncodingError, SnapshotError } from "./errors.js";
import { sha256 } from "./hash.js";
import { openNote, parseNote, signNote, type NoteSigner, type NoteVerifier } from "./note.js";
import type { Checkpoint } from "./checkpoint.js";

export const FORMAT_LINE = "consent-registry/snapshot/v1";
export const FINGERPRINT_BITS: readonly number[] = [8, 16];
export const DEFAULT_CATEGORY = "train-ai";
export const MAX_ITEMS = 2 ** 31 - 1;
export const MAX_SNAPSHOT_NOTE_BYTES = 65_536;
export const MAX_ATTEMPTS = 100;
const encoder = new TextEncoder();
const URL_KEY_LABEL = encoder.encode("consent-registry/snapshot url\n");
const SEED_LABEL = encoder.encode("consent-registry/snapshot seed\n");
const M64 = (1n << 64n) - 1n;
const MAX_SEGMENT_LENGTH = 1 << 18;
const MAX_ARRAY_LENGTH = 2 ** 32;
const MAX_TREE_SIZE = (1n << 63n) - 1n;
const DECIMAL = /^(?:0|[1-9][0-9]{0,18})$/;
const CATEGORY = /^[a-z*][a-z0-9_.*-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const HEX16 = /^[0-9a-f]{16}$/;

function be64(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

// --- keys (spec §8.2) ---------------------------------------------------------------------------

/** The key of a work's SHA-256 (64 lowercase hex or 32 bytes): its first 8 bytes, big-endian. */
export function sha256Key(digest: string | Uint8Array): bigint {
  if (typeof digest === "string") {
    if (!HEX64.test(digest)) throw new SnapshotError("a work SHA-256 must be 64 lowercase hex characters");
    return BigInt("0x" + digest.slice(0, 16));
  }
  if (digest.length !== 32) throw new SnapshotError(`a work SHA-256 must be 32 bytes, got ${digest.length}`);
  return be64(digest);
}

/** The key of a normalised URL: be64(SHA-256(label || UTF-8(url))[0:8]). Does not normalise. */
export function urlKey(url: string): bigint {
  if (!isWellFormed(url)) throw new SnapshotError("a URL must be valid UTF-8");
  return be64(sha256(concatBytes(URL_KEY_LABEL, encoder.encode(url))));
}

/** The key of a subject `("sha256", hex)` or `("url", normalised URL)`. */
export function subjectKey(kind: "sha256" | "url" | string, value: string): bigint {
  if (kind === "sha256") return sha256Key(value);
  if (kind === "url") return urlKey(value);
  throw new SnapshotError(`unknown subject kind ${JSON.stringify(kind)}`);
}

// --- the filter (spec §8.4) ---------------------------------------------------------------------

function fmix64(key: bigint, seed: bigint): bigint {
  let h = (key + seed) & M64;
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & M64;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & M64;
  return h ^ (h >> 33n);
}

function checkParameters(bits: number, items: number, segmentLength: number, segmentCount: number, arrayLength: number): void {
  if (!FINGERPRINT_BITS.includes(bits)) throw new SnapshotError(`fingerprint width ${bits} is not 8 or 16`);
  if (!(Number.isInteger(items) && items >= 0 && items <= MAX_ITEMS)) throw new SnapshotError(`item count ${items} is out of range 0..2^31-1`);
  if (items === 0) {
    if (segmentLength || segmentCount || arrayLength) throw new SnapshotError("an empty filter has segment length, count and array length 0");
    return;
  }
  if (segmentLength < 4 || segmentLength > MAX_SEGMENT_LENGTH) throw new SnapshotError(`segment length ${segmentLength} is out of range 4..2^18`);
  if (segmentLength & (segmentLength - 1)) throw new SnapshotError(`segment length ${segmentLength} is not a power of two`);
  if (segmentCount < 1) throw new SnapshotError("segment count must be at least 1");
  if (arrayLength !== (segmentCount + 2) * segmentLength) throw new SnapshotError("array length must be (segment count + 2) * segment length");
  if (arrayLength >= MAX_ARRAY_LENGTH) throw new SnapshotError("array length must be below 2^32");
  if (items > arrayLength) throw new SnapshotError("a filter cannot hold more items than it has slots");
}

/** Parameters and bytes of a binary fuse filter (spec §8.4.1). */
export interface FilterParameters {
  fingerprintBits: number;
  seed: bigint;
  items: number;
  segmentLength: number;
  segmentCount: number;
  arrayLength: number;
}

/** A 3-wise binary fuse filter over 64-bit keys (spec §8.4), read-only. */
export class BinaryFuseFilter {
  readonly fingerprintBits: number;
  readonly seed: bigint;
  readonly items: number;
  readonly segmentLength: number;
  readonly segmentCount: number;
  readonly arrayLength: number;
  readonly data: Uint8Array;
  private readonly slots: Uint8Array | Uint16Array;

  /** Wrap filter bytes with their parameters; {@link SnapshotError} if inconsistent (§8.4.1). */
  constructor(parameters: FilterParameters, data: Uint8Array) {
    const { fingerprintBits, seed, items, segmentLength, segmentCount, arrayLength } = parameters;
    checkParameters(fingerprintBits, items, segmentLength, segmentCount, arrayLength);
    if (seed < 0n || seed > M64) throw new SnapshotError("seed must be a 64-bit unsigned integer");
    if (data.length !== (arrayLength * fingerprintBits) / 8) {
      throw new SnapshotError(`filter is ${data.length} bytes, parameters say ${(arrayLength * fingerprintBits) / 8}`);
    }
    this.fingerprintBits = fingerprintBits;
    this.seed = seed;
    this.items = items;
    this.segmentLength = segmentLength;
    this.segmentCount = segmentCount;
    this.arrayLength = arrayLength;
    this.data = Uint8Array.from(data);
    if (fingerprintBits === 16) {
      const slots = new Uint16Array(arrayLength); // spec §8.4.1: little-endian
      for (let i = 0; i < arrayLength; i++) slots[i] = this.data[2 * i]! | (this.data[2 * i + 1]! << 8);
      this.slots = slots;
    } else this.slots = this.data;
  }

  /** The stated false-positive rate, 2^-bits (spec §8.4.4). */
  get fpr(): number {
    return 1 / 2 ** this.fingerprintBits;
  }

  /** True if `key` may be in the set (a hit); false means it certainly is not (spec §8.4.2). */
  contains(key: bigint): boolean {
    if (this.items === 0) return false;
    const h = fmix64(key, this.seed);
    const length = BigInt(this.segmentLength);
    const mask = length - 1n;
    const h0 = (h * BigInt(this.segmentCount * this.segmentLength)) >> 64n;
    const h1 = (h0 + length) ^ ((h >> 18n) & mask);
    const h2 = (h0 + 2n * length) ^ (h & mask);
    const fingerprint = Number((h ^ (h >> 32n)) & ((1n << BigInt(this.fingerprintBits)) - 1n));
    const s = this.slots;
    return fingerprint === (s[Number(h0)]! ^ s[Number(h1)]! ^ s[Number(h2)]!);
  }
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff < 0.5) return floor;
  if (diff > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}

function sizing(items: number): [number, number, number] {
  if (items === 0) return [0, 0, 0];
  const exponent = Math.floor(Math.log(items) / Math.log(3.33) + 2.25);
  const segmentLength = Math.min(MAX_SEGMENT_LENGTH, Math.max(4, 2 ** exponent));
  const factor = items === 1 ? 2 : Math.max(1.125, 0.875 + (0.25 * Math.log(1e6)) / Math.log(items));
  const capacity = roundHalfEven(items * factor);
  const segmentCount = Math.max(1, Math.ceil(capacity / segmentLength) - 2);
  return [segmentLength, segmentCount, (segmentCount + 2) * segmentLength];
}

function attemptSeed(seedMaterial: Uint8Array, attempt: number): bigint {
  const counter = new Uint8Array(4);
  new DataView(counter.buffer).setUint32(0, attempt, false);
  return be64(sha256(concatBytes(SEED_LABEL, seedMaterial, counter)));
}

function tryBuild(keys: bigint[], seed: bigint, segmentLength: number, segmentCount: number, bits: number): number[] | null {
  const length = BigInt(segmentLength);
  const mask = length - 1n;
  const span = BigInt(segmentCount * segmentLength);
  const arrayLength = (segmentCount + 2) * segmentLength;
  const count = new Array<number>(arrayLength).fill(0);
  const xor = new Array<bigint>(arrayLength).fill(0n);
  const positions = (h: bigint): [number, number, number] => {
    const h0 = (h * span) >> 64n;
    return [Number(h0), Number((h0 + length) ^ ((h >> 18n) & mask)), Number((h0 + 2n * length) ^ (h & mask))];
  };
  for (const key of keys) {
    const h = fmix64(key, seed);
    for (const p of positions(h)) {
      count[p]!++;
      xor[p] = xor[p]! ^ h;
    }
  }
  const queue: number[] = [];
  count.forEach((c, i) => {
    if (c === 1) queue.push(i);
  });
  const order: bigint[] = [];
  const peeled: number[] = [];
  while (queue.length) {
    const slot = queue.pop()!;
    if (count[slot] !== 1) continue;
    const h = xor[slot]!;
    const ps = positions(h);
    for (const p of ps) {
      count[p]!--;
      xor[p] = xor[p]! ^ h;
    }
    for (const p of ps) if (count[p] === 1) queue.push(p);
    order.push(h);
    peeled.push(slot);
  }
  if (order.length !== keys.length) return null;
  const fingerprintMask = (1n << BigInt(bits)) - 1n;
  const slots = count;
  for (let i = order.length - 1; i >= 0; i--) {
    const h = order[i]!;
    const [h0, h1, h2] = positions(h);
    slots[peeled[i]!] = Number((h ^ (h >> 32n)) & fingerprintMask) ^ slots[h0]! ^ slots[h1]! ^ slots[h2]!;
  }
  return slots;
}

/**
 * Build a binary fuse filter holding `keys` by the recommended construction (spec §8.4.3):
 * the result depends only on the set of keys, the width and the seed material.
 */
export function buildFilter(keys: Iterable<bigint>, options: { fingerprintBits?: number; seedMaterial?: Uint8Array } = {}): BinaryFuseFilter {
  const bits = options.fingerprintBits ?? 16;
  if (!FINGERPRINT_BITS.includes(bits)) throw new SnapshotError(`fingerprint width ${bits} is not 8 or 16`);
  const unique = [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (unique.length && (unique[0]! < 0n || unique[unique.length - 1]! > M64)) throw new SnapshotError("keys must be 64-bit unsigned integers");
  const [segmentLength, segmentCount, arrayLength] = sizing(unique.length);
  if (!unique.length) {
    return new BinaryFuseFilter({ fingerprintBits: bits, seed: 0n, items: 0, segmentLength: 0, segmentCount: 0, arrayLength: 0 }, new Uint8Array(0));
  }
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const seed = attemptSeed(options.seedMaterial ?? new Uint8Array(0), attempt);
    const slots = tryBuild(unique, seed, segmentLength, segmentCount, bits);
    if (slots === null) continue;
    // spec §8.4.1: one byte per fingerprint, or two little-endian bytes
    const data = new Uint8Array((slots.length * bits) / 8);
    slots.forEach((v, i) => {
      if (bits === 8) data[i] = v;
      else {
        data[2 * i] = v & 0xff;
        data[2 * i + 1] = v >> 8;
      }
    });
    return new BinaryFuseFilter({ fingerprintBits: bits, seed, items: unique.length, segmentLength, segmentCount, arrayLength }, data);
  }
  throw new SnapshotError(`no seed in ${MAX_ATTEMPTS} attempts builds a filter of ${unique.length} keys`);
}

// --- the header (spec §8.3) ---------------------------------------------------------------------

/** The signed text of a snapshot (spec §8.3). */
export interface SnapshotHeader extends FilterParameters {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  kind: "full" | "delta";
  base: number;
  previous: number;
  category: string;
  filterSha256: Uint8Array;
}

function checkHeader(h: SnapshotHeader): SnapshotHeader {
  if (!h.origin || /[ \t\u0000-\u001f]/.test(h.origin) || !isWellFormed(h.origin)) {
    throw new SnapshotError("origin must be non-empty, without spaces or control characters");
  }
  if (!Number.isSafeInteger(h.size) || h.size < 0) throw new SnapshotError(`size ${h.size} is out of range`);
  if (h.rootHash.length !== 32) throw new SnapshotError("root hash must be 32 bytes");
  if (h.kind === "full") {
    if (h.base !== h.size || h.previous !== h.size) throw new SnapshotError("a full snapshot's base and previous are its own size");
  } else if (h.kind === "delta") {
    if (!(h.base >= 0 && h.base <= h.previous && h.previous < h.size)) throw new SnapshotError("a delta needs base <= previous < size");
  } else throw new SnapshotError(`unknown snapshot kind ${JSON.stringify(h.kind)}`);
  if (!CATEGORY.test(h.category)) throw new SnapshotError(`category ${JSON.stringify(h.category)} is not an AIPREF label`);
  checkParameters(h.fingerprintBits, h.items, h.segmentLength, h.segmentCount, h.arrayLength);
  if (h.seed < 0n || h.seed > M64) throw new SnapshotError("seed must be a 64-bit unsigned integer");
  if (h.filterSha256.length !== 32) throw new SnapshotError("filter SHA-256 must be 32 bytes");
  return h;
}

/** A snapshot's name (spec §8.6): `full-<size>` or `delta-<previous>-<size>`. */
export function snapshotName(h: SnapshotHeader): string {
  return h.kind === "full" ? `full-${h.size}` : `delta-${h.previous}-${h.size}`;
}

/** The note text of a header (spec §8.3). */
export function snapshotHeaderText(h: SnapshotHeader): string {
  checkHeader(h);
  const lines = [
    FORMAT_LINE,
    `origin ${h.origin}`,
    `size ${h.size}`,
    `root ${b64encode(h.rootHash)}`,
    h.kind === "full" ? "kind full" : `kind delta ${h.base} ${h.previous}`,
    `category ${h.category}`,
    `items ${h.items}`,
    `filter binary-fuse-3 ${h.fingerprintBits}`,
    `seed ${h.seed.toString(16).padStart(16, "0")}`,
    `segment-length ${h.segmentLength}`,
    `segment-count ${h.segmentCount}`,
    `array-length ${h.arrayLength}`,
    `fpr 1/${2 ** h.fingerprintBits}`,
    `filter-sha256 ${bytesToHex(h.filterSha256)}`,
  ];
  return lines.map((l) => l + "\n").join("");
}

const KEYS = ["origin", "size", "root", "kind", "category", "items", "filter", "seed", "segment-length", "segment-count", "array-length", "fpr", "filter-sha256"];

function decimal(text: string): number {
  if (!DECIMAL.test(text)) throw new SnapshotError(`${JSON.stringify(text)} is not a canonical decimal`);
  const value = BigInt(text);
  if (value > MAX_TREE_SIZE) throw new SnapshotError(`${text} is out of range 0..2^63-1`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new SnapshotError(`${text} is beyond 2^53-1`);
  return Number(value);
}

/** Parse a header strictly: the fourteen lines, in order, nothing else (spec §8.3). */
export function parseSnapshotHeader(text: string): SnapshotHeader {
  if (!text.endsWith("\n")) throw new SnapshotError("snapshot header must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length !== 14) throw new SnapshotError(`snapshot header has ${lines.length} lines, expected 14`);
  if (lines[0] !== FORMAT_LINE) throw new SnapshotError(`not a ${FORMAT_LINE} header`);
  const fields = lines.slice(1).map((line, i) => {
    const prefix = `${KEYS[i]} `;
    if (!line.startsWith(prefix) || line.length === prefix.length) throw new SnapshotError(`expected a ${JSON.stringify(KEYS[i])} line, got ${JSON.stringify(line)}`);
    return line.slice(prefix.length);
  }) as [string, string, string, string, string, string, string, string, string, string, string, string, string];
  const [origin, sizeText, root, kind, category, items, filter, seed, segLen, segCount, arrayLength, fpr, filterSha256] = fields;
  let rootHash: Uint8Array;
  try {
    rootHash = b64decode(root);
  } catch (cause) {
    if (cause instanceof EncodingError) throw new SnapshotError(`root ${JSON.stringify(root)} is not canonical base64`, { cause });
    throw cause;
  }
  const size = decimal(sizeText);
  let kindName: "full" | "delta";
  let base = size;
  let previous = size;
  if (kind === "full") kindName = "full";
  else {
    const parts = kind.split(" ");
    if (parts.length !== 3 || parts[0] !== "delta") throw new SnapshotError(`kind ${JSON.stringify(kind)} is neither 'full' nor 'delta <base> <previous>'`);
    kindName = "delta";
    base = decimal(parts[1]!);
    previous = decimal(parts[2]!);
  }
  const bits = filter === "binary-fuse-3 8" ? 8 : filter === "binary-fuse-3 16" ? 16 : 0;
  if (!bits) throw new SnapshotError(`filter ${JSON.stringify(filter)} is not binary-fuse-3 with 8 or 16 bits`);
  if (fpr !== `1/${2 ** bits}`) throw new SnapshotError(`fpr ${JSON.stringify(fpr)} does not match ${bits}-bit fingerprints`);
  if (!HEX16.test(seed)) throw new SnapshotError("seed must be 16 lowercase hex digits");
  if (!HEX64.test(filterSha256)) throw new SnapshotError("filter-sha256 must be 64 lowercase hex digits");
  return checkHeader({
    origin,
    size,
    rootHash,
    kind: kindName,
    base,
    previous,
    category,
    items: decimal(items),
    fingerprintBits: bits,
    seed: BigInt("0x" + seed),
    segmentLength: decimal(segLen),
    segmentCount: decimal(segCount),
    arrayLength: decimal(arrayLength),
    filterSha256: Uint8Array.from(filterSha256.match(/../g)!.map((b) => parseInt(b, 16))),
  });
}

// --- files, verification, chains (spec §8.5-§8.7) -------------------------------------------------

/** The snapshot file: be32(len(note)) || note || filter bytes (spec §8.6). */
export function encodeSnapshot(note: Uint8Array, filterBytes: Uint8Array): Uint8Array {
  if (!(note.length > 0 && note.length <= MAX_SNAPSHOT_NOTE_BYTES)) throw new SnapshotError(`snapshot note must be 1..${MAX_SNAPSHOT_NOTE_BYTES} bytes`);
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, note.length, false);
  return concatBytes(prefix, note, filterBytes);
}

/** Split a snapshot file into its signed note and filter bytes, verifying nothing (spec §8.6). */
export function splitSnapshot(data: Uint8Array): { note: Uint8Array; filter: Uint8Array } {
  if (data.length < 4) throw new SnapshotError("snapshot file is shorter than its 4-byte length prefix");
  const length = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, false);
  if (!(length > 0 && length <= MAX_SNAPSHOT_NOTE_BYTES)) throw new SnapshotError(`snapshot note length ${length} is out of range 1..${MAX_SNAPSHOT_NOTE_BYTES}`);
  if (data.length < 4 + length) throw new SnapshotError("snapshot file is truncated inside its note");
  return { note: data.slice(4, 4 + length), filter: data.slice(4 + length) };
}

/** Sign a header for `filter` with the node's log key (name = origin) and return the file. */
export function makeSnapshot(options: {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  filter: BinaryFuseFilter;
  signers: readonly NoteSigner[];
  kind?: "full" | "delta";
  base?: number;
  previous?: number;
  category?: string;
}): Uint8Array {
  const f = options.filter;
  const header: SnapshotHeader = {
    origin: options.origin,
    size: options.size,
    rootHash: options.rootHash,
    kind: options.kind ?? "full",
    base: options.base ?? options.size,
    previous: options.previous ?? options.size,
    category: options.category ?? DEFAULT_CATEGORY,
    items: f.items,
    fingerprintBits: f.fingerprintBits,
    seed: f.seed,
    segmentLength: f.segmentLength,
    segmentCount: f.segmentCount,
    arrayLength: f.arrayLength,
    filterSha256: sha256(f.data),
  };
  return encodeSnapshot(signNote(snapshotHeaderText(header), options.signers), f.data);
}

/** A verified snapshot (spec §8.5), ready for lookups. */
export interface Snapshot {
  header: SnapshotHeader;
  filter: BinaryFuseFilter;
  note: Uint8Array;
}

/** Split a file and parse its header, verifying NO signature (to read origin and size first). */
export function parseSnapshot(data: Uint8Array): { header: SnapshotHeader; note: Uint8Array; filter: Uint8Array } {
  const { note, filter } = splitSnapshot(data);
  return { header: parseSnapshotHeader(parseNote(note).text), note, filter };
}

/**
 * Verify a snapshot file under the node's verifier key (spec §8.5). `checkpoint`: a checkpoint of
 * the same log the caller verified; at the same size its root must be the snapshot's. Throws
 * {@link SnapshotError}, `NoteError` (malformed note), `UnverifiedNoteError` (signature).
 */
export function openSnapshot(data: Uint8Array, node: NoteVerifier, options: { checkpoint?: Checkpoint; category?: string } = {}): Snapshot {
  const { note, filter: filterBytes } = splitSnapshot(data);
  const opened = openNote(note, [node]);
  const header = parseSnapshotHeader(opened.text);
  if (header.origin !== node.name) throw new SnapshotError(`snapshot of ${JSON.stringify(header.origin)} signed by key ${JSON.stringify(node.name)}`);
  const category = options.category ?? DEFAULT_CATEGORY;
  if (header.category !== category) throw new SnapshotError(`snapshot holds ${JSON.stringify(header.category)} reservations, not ${JSON.stringify(category)}`);
  if (!bytesEqual(sha256(filterBytes), header.filterSha256)) throw new SnapshotError("filter bytes do not match the header's filter-sha256");
  const filter = new BinaryFuseFilter(header, filterBytes);
  const cp = options.checkpoint;
  if (cp !== undefined) {
    if (cp.origin !== header.origin) throw new SnapshotError("checkpoint is of another log than the snapshot");
    if (cp.size === header.size && !bytesEqual(cp.rootHash, header.rootHash)) {
      throw new SnapshotError(`snapshot and checkpoint disagree on the root at size ${header.size}`);
    }
  }
  return { header, filter, note };
}

/** A full snapshot and the deltas after it (spec §8.7). */
export class SnapshotChain {
  constructor(readonly snapshots: readonly Snapshot[]) {}
  /** The log size the chain covers: its last snapshot's. */
  get size(): number {
    return this.snapshots[this.snapshots.length - 1]!.header.size;
  }
  /** The root hash at {@link size}, as the node signed it. */
  get rootHash(): Uint8Array {
    return this.snapshots[this.snapshots.length - 1]!.header.rootHash;
  }
  /** Upper bound of the chain's false-positive rate (union bound, spec §8.4.4). */
  get fpr(): number {
    return this.snapshots.filter((s) => s.header.items).reduce((sum, s) => sum + s.filter.fpr, 0);
  }
  /** True if any filter may hold the key (ask the node); false: not reserved at {@link size}. */
  containsKey(key: bigint): boolean {
    return this.snapshots.some((s) => s.filter.contains(key));
  }
  containsSha256(digest: string | Uint8Array): boolean {
    return this.containsKey(sha256Key(digest));
  }
  /** The URL must already be normalised (spec §2.5). */
  containsUrl(normalizedUrl: string): boolean {
    return this.containsKey(urlKey(normalizedUrl));
  }
}

/** Check that verified snapshots form one chain (spec §8.7); {@link SnapshotError} otherwise. */
export function verifyChain(snapshots: readonly Snapshot[]): SnapshotChain {
  if (!snapshots.length) throw new SnapshotError("a chain needs a full snapshot");
  const first = snapshots[0]!.header;
  if (first.kind !== "full") throw new SnapshotError("a chain starts with a full snapshot");
  let before = first;
  for (const snapshot of snapshots.slice(1)) {
    const h = snapshot.header;
    if (h.kind !== "delta") throw new SnapshotError(`${snapshotName(h)}: only deltas follow a full snapshot`);
    if (h.origin !== first.origin || h.category !== first.category) throw new SnapshotError(`${snapshotName(h)}: another origin or category than the chain`);
    if (h.base !== first.size || h.previous !== before.size) throw new SnapshotError(`${snapshotName(h)} does not extend ${snapshotName(before)}`);
    before = h;
  }
  return new SnapshotChain([...snapshots]);
}
