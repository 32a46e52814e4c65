/**
 * Levels files (spec §8.10): what a snapshot's hits resolve to under each policy, with every
 * claim's identity level and evidence, signed by the node and bound to one snapshot. Parsing and
 * verification only; mirrors `registry/core/levels.py`. A hit without a row has the default
 * answer: reserved under `any` and `verified`, not under `verified-only`.
 */
import { b64decode, bytesEqual, bytesToHex } from "./encoding.js";
import { EncodingError, ProtocolError, SnapshotError } from "./errors.js";
import { sha256 } from "./hash.js";
import { PublicKey } from "./keys.js";
import { openNote, type NoteVerifier } from "./note.js";
import { snapshotName, splitSnapshot, type Snapshot } from "./snapshot.js";
import type { Policy } from "./trust.js";

export const LEVELS_FORMAT_LINE = "consent-registry/snapshot-levels/v1";
/** The policies under which a filter hit without a row is reserved (spec §8.10.1). */
export const DEFAULT_RESERVED: readonly Policy[] = ["any", "verified"];
const POLICY_BITS: readonly [Policy, number][] = [
  ["any", 1],
  ["verified", 2],
  ["verified-only", 4],
];
const PREFERENCES: readonly (string | null)[] = [null, "y", "n"];
const COUNTED_VERIFIED = 4;
const HEX64 = /^[0-9a-f]{64}$/;
const DECIMAL = /^(?:0|[1-9][0-9]{0,18})$/;
const LEVEL = /^(?:domain|platform):[!#-[\]-~]{1,253}$/;
const PLATFORM_NAME = /^[a-z0-9-]{1,64}$/;

/** One claim of a row (spec §8.10.3); `levels` is empty for level `none`. */
export interface LevelClaim {
  declarationId: string;
  levels: string[];
  evidence: string[];
  preference: string | null;
  countedVerified: boolean;
  disputedBy: string[];
}

/** The level of a claim (spec §9.1): its first level, or `none`. */
export function claimLevel(claim: LevelClaim): string {
  return claim.levels[0] ?? "none";
}

/** Whether a claim counts under `policy` (spec §9.4.7). */
export function claimCounted(claim: LevelClaim, policy: Policy): boolean {
  if (policy === "any") return true;
  if (policy === "verified-only") return claim.levels.length > 0;
  return claim.countedVerified;
}

/** The answer for one subject key: the policies it is reserved under, and its claims. */
export interface LevelRow {
  key: bigint;
  reserved: Policy[];
  claims: LevelClaim[];
}

/** A log the node mirrors, at the size a levels file's answers count it (spec §8.10.2). */
export interface MirroredSize {
  origin: string;
  size: number;
  rootHash: Uint8Array;
}

/** The signed header of a levels file (spec §8.10.2). */
export interface LevelsHeader {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  snapshot: string;
  filterSha256: Uint8Array;
  category: string;
  /** The mirrored logs the answers count (spec §8.10.1), by origin. */
  mirrors: MirroredSize[];
  nodes: string[];
  platforms: [string, string][];
  bodySha256: Uint8Array;
  /** A delta's: the SHA-256 of the levels file of the chain's previous snapshot; undefined for a full one's. */
  previous?: Uint8Array;
}

class Reader {
  at = 0;
  constructor(readonly data: Uint8Array) {}
  take(n: number): Uint8Array {
    const end = this.at + n;
    if (end > this.data.length) throw new SnapshotError("levels body is truncated");
    const out = this.data.subarray(this.at, end);
    this.at = end;
    return out;
  }
  uint(n: number): number {
    let value = 0;
    for (const byte of this.take(n)) value = value * 256 + byte;
    return value;
  }
  key(): bigint {
    let value = 0n;
    for (const byte of this.take(8)) value = (value << 8n) | BigInt(byte);
    return value;
  }
  ids(what: string): string[] {
    const count = this.uint(2);
    const out: string[] = [];
    for (let i = 0; i < count; i++) out.push(bytesToHex(this.take(32)));
    for (let i = 1; i < out.length; i++) if (out[i - 1]! >= out[i]!) throw new SnapshotError(`${what} ids are not strictly ascending`);
    return out;
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

const levelOrder = (level: string): string => (level.startsWith("domain:") ? "0" : "1") + level;

/** Parse a levels body strictly (spec §8.10.3). Throws {@link SnapshotError}. */
export function parseLevelsBody(body: Uint8Array): LevelRow[] {
  const reader = new Reader(body);
  const sets: [string[], string[]][] = [];
  let previous: Uint8Array | null = null;
  const setCount = reader.uint(4);
  for (let i = 0; i < setCount; i++) {
    const start = reader.at;
    const levels: string[] = [];
    const n = reader.uint(2);
    for (let j = 0; j < n; j++) {
      const level = String.fromCharCode(...reader.take(reader.uint(2)));
      if (!LEVEL.test(level)) throw new SnapshotError(`${JSON.stringify(level.slice(0, 80))} is not a domain: or platform: level`);
      if (levels.length && levelOrder(levels[levels.length - 1]!) >= levelOrder(level)) {
        throw new SnapshotError("levels are not in order (domain: first, then platform:, ASCII)");
      }
      levels.push(level);
    }
    const evidence = reader.ids("evidence");
    if ((levels.length > 0) !== (evidence.length > 0)) throw new SnapshotError("a set has evidence if and only if it has levels");
    const encoded = body.subarray(start, reader.at);
    if (previous !== null && compareBytes(encoded, previous) <= 0) throw new SnapshotError("level sets are not strictly ascending");
    previous = encoded;
    sets.push([levels, evidence]);
  }
  const claims: LevelClaim[] = [];
  const claimCount = reader.uint(4);
  for (let i = 0; i < claimCount; i++) {
    const declarationId = bytesToHex(reader.take(32));
    const index = reader.uint(4);
    const set = sets[index];
    if (set === undefined) throw new SnapshotError(`claim refers to level set ${index} of ${sets.length}`);
    const flags = reader.uint(1);
    if (flags & ~(COUNTED_VERIFIED | 3) || (flags & 3) === 3) throw new SnapshotError(`claim flags ${flags} have unknown bits`);
    claims.push({
      declarationId,
      levels: set[0],
      evidence: set[1],
      preference: PREFERENCES[flags & 3]!,
      countedVerified: (flags & COUNTED_VERIFIED) !== 0,
      disputedBy: reader.ids("counter-statement"),
    });
  }
  const rows: LevelRow[] = [];
  let used = 0;
  const rowCount = reader.uint(4);
  for (let i = 0; i < rowCount; i++) {
    const key = reader.key();
    const bits = reader.uint(1);
    const count = reader.uint(2);
    if (rows.length && key <= rows[rows.length - 1]!.key) throw new SnapshotError("rows are not strictly ascending by key");
    if (bits & ~7) throw new SnapshotError(`row policy bits ${bits} have unknown bits`);
    if (used + count > claims.length) throw new SnapshotError("rows name more claims than the body holds");
    const own = claims.slice(used, used + count);
    for (let j = 1; j < own.length; j++) {
      if (own[j - 1]!.declarationId >= own[j]!.declarationId) throw new SnapshotError("a row's claims are not strictly ascending by declaration id");
    }
    used += count;
    rows.push({ key, reserved: POLICY_BITS.filter(([, bit]) => bits & bit).map(([p]) => p), claims: own });
  }
  if (used !== claims.length) throw new SnapshotError("the body holds claims no row names");
  if (reader.at !== body.length) throw new SnapshotError("levels body has trailing bytes");
  return rows;
}

function field(line: string, key: string): string {
  const prefix = `${key} `;
  if (!line.startsWith(prefix) || line.length === prefix.length) throw new SnapshotError(`expected a ${JSON.stringify(key)} line, got ${JSON.stringify(line.slice(0, 80))}`);
  return line.slice(prefix.length);
}

function did(text: string): string {
  try {
    PublicKey.fromDid(text);
  } catch (cause) {
    if (cause instanceof ProtocolError) throw new SnapshotError(`${JSON.stringify(text.slice(0, 80))} is not a did:key`, { cause });
    throw cause;
  }
  return text;
}

function canonicalSize(text: string): number {
  if (!DECIMAL.test(text) || BigInt(text) > BigInt(Number.MAX_SAFE_INTEGER)) throw new SnapshotError(`size ${JSON.stringify(text.slice(0, 80))} is not a canonical decimal`);
  return Number(text);
}

function rootOf(text: string): Uint8Array {
  let root: Uint8Array;
  try {
    root = b64decode(text);
  } catch (cause) {
    if (cause instanceof EncodingError) throw new SnapshotError(`root ${JSON.stringify(text.slice(0, 80))} is not canonical base64`, { cause });
    throw cause;
  }
  if (root.length !== 32) throw new SnapshotError(`root ${JSON.stringify(text.slice(0, 80))} is not 32 bytes`);
  return root;
}

function mirrorOf(text: string): MirroredSize {
  const parts = text.split(" ");
  if (parts.length !== 3 || !parts[0]) throw new SnapshotError(`mirror line ${JSON.stringify(text.slice(0, 80))} is not '<origin> <size> <root>'`);
  return { origin: parts[0], size: canonicalSize(parts[1]!), rootHash: rootOf(parts[2]!) };
}

const utf8 = new TextEncoder();

/** a < b by UTF-8 bytes (Python's order of str, code points). */
function utf8Less(a: string, b: string): boolean {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
  return x.length < y.length;
}

/** Parse a levels header strictly (spec §8.10.2). Throws {@link SnapshotError}. */
export function parseLevelsHeader(text: string): LevelsHeader {
  if (!text.endsWith("\n")) throw new SnapshotError("levels header must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 8 || lines[0] !== LEVELS_FORMAT_LINE) throw new SnapshotError(`not a ${LEVELS_FORMAT_LINE} header`);
  let previous: string | undefined;
  if (lines.length > 8 && lines[lines.length - 2]!.startsWith("previous-levels ")) {
    previous = field(lines.splice(lines.length - 2, 1)[0]!, "previous-levels");
    if (!HEX64.test(previous)) throw new SnapshotError("previous-levels is 64 lowercase hex digits");
  }
  const keys = ["origin", "size", "root", "snapshot", "filter-sha256", "category"];
  const [origin, size, root, snapshot, filterSha256, category] = keys.map((k, i) => field(lines[i + 1]!, k)) as [string, string, string, string, string, string];
  const mirrors: MirroredSize[] = [];
  const nodes: string[] = [];
  const platforms: [string, string][] = [];
  for (const line of lines.slice(7, -1)) {
    if (line.startsWith("mirror ") && !nodes.length && !platforms.length) {
      mirrors.push(mirrorOf(field(line, "mirror")));
      continue;
    }
    if (line.startsWith("trusted-node ") && !platforms.length) {
      nodes.push(did(field(line, "trusted-node")));
      continue;
    }
    const value = field(line, "trusted-platform");
    const space = value.indexOf(" ");
    const name = space < 0 ? value : value.slice(0, space);
    if (!PLATFORM_NAME.test(name)) throw new SnapshotError(`platform name ${JSON.stringify(name)} is not lowercase a-z0-9-`);
    platforms.push([name, did(space < 0 ? "" : value.slice(space + 1))]);
  }
  const sortedUnique = (items: string[]): boolean => items.every((x, i) => i === 0 || items[i - 1]! < x);
  if (!sortedUnique(nodes) || !sortedUnique(platforms.map(([n, k]) => `${n} ${k}`))) {
    throw new SnapshotError("trusted nodes and platforms must be sorted and unique");
  }
  if (!mirrors.every((m, i) => (i === 0 || utf8Less(mirrors[i - 1]!.origin, m.origin)) && m.origin !== origin)) {
    throw new SnapshotError("mirror lines must be sorted by origin, unique and not the own log");
  }
  const body = field(lines[lines.length - 1]!, "body-sha256");
  if (!HEX64.test(filterSha256) || !HEX64.test(body)) throw new SnapshotError("filter-sha256 and body-sha256 are 64 lowercase hex digits");
  const bytes = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
  return {
    origin,
    size: canonicalSize(size),
    rootHash: rootOf(root),
    snapshot,
    filterSha256: bytes(filterSha256),
    category,
    mirrors,
    nodes,
    platforms,
    bodySha256: bytes(body),
    ...(previous === undefined ? {} : { previous: bytes(previous) }),
  };
}

/** A verified levels file (spec §8.10.5). */
export class SnapshotLevels {
  constructor(
    readonly header: LevelsHeader,
    readonly rows: readonly LevelRow[],
    readonly note: Uint8Array,
    /** The SHA-256 of the whole file, which the next delta's `previous-levels` names. */
    readonly sha256: Uint8Array = new Uint8Array(),
  ) {}

  /** The row of `key`, or undefined: the default answer if the filter hits. */
  row(key: bigint): LevelRow | undefined {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid]!.key < key) lo = mid + 1;
      else hi = mid;
    }
    const found = this.rows[lo];
    return found !== undefined && found.key === key ? found : undefined;
  }

  /** The size at which the answers count the mirrored log `origin`, or undefined (spec §8.10.5 item 5). */
  mirror(origin: string): MirroredSize | undefined {
    return this.header.mirrors.find((m) => m.origin === origin);
  }

  /** Whether a filter hit `key` is reserved under `policy` at the snapshot's size. */
  reserved(key: bigint, policy: Policy): boolean {
    return (this.row(key)?.reserved ?? DEFAULT_RESERVED).includes(policy);
  }
}

/**
 * Verify a levels file against the verified snapshot it belongs to (spec §8.10.5). Throws
 * {@link SnapshotError}, `NoteError` (malformed note), `UnverifiedNoteError` (signature).
 */
export function openLevels(data: Uint8Array, node: NoteVerifier, snapshot: Snapshot): SnapshotLevels {
  const { note, filter: body } = splitSnapshot(data);
  const opened = openNote(note, [node]);
  const header = parseLevelsHeader(opened.text);
  const s = snapshot.header;
  const bound =
    header.origin === s.origin &&
    header.size === s.size &&
    bytesEqual(header.rootHash, s.rootHash) &&
    header.snapshot === snapshotName(s) &&
    bytesEqual(header.filterSha256, s.filterSha256) &&
    header.category === s.category;
  if (!bound) throw new SnapshotError(`levels file of ${JSON.stringify(header.snapshot)} is not bound to ${JSON.stringify(snapshotName(s))}`);
  if (!bytesEqual(sha256(body), header.bodySha256)) throw new SnapshotError("levels body does not match the header's body-sha256");
  if ((header.previous === undefined) !== (s.kind === "full")) throw new SnapshotError("a delta's levels file names the previous one, a full one's does not");
  return new SnapshotLevels(header, parseLevelsBody(body), note, sha256(data));
}

function isDefault(row: LevelRow): boolean {
  const reserved = [...row.reserved].sort();
  return (
    reserved.length === DEFAULT_RESERVED.length &&
    reserved.every((p, i) => p === [...DEFAULT_RESERVED].sort()[i]) &&
    row.claims.every((c) => c.levels.length === 0 && c.disputedBy.length === 0)
  );
}

/**
 * The answers of a chain's levels files (spec §8.10.5), each verified with {@link openLevels}
 * against its snapshot, in chain order: a delta's rows replace those of their keys, a row with
 * the default answer removes its key. Throws {@link SnapshotError} if the files do not link.
 */
export function mergeLevels(files: readonly SnapshotLevels[]): SnapshotLevels {
  if (files.length === 0) throw new SnapshotError("a chain of levels files has at least its full snapshot's");
  const rows = new Map<bigint, LevelRow>();
  files.forEach((levels, i) => {
    const expected = i === 0 ? undefined : files[i - 1]!.sha256;
    const previous = levels.header.previous;
    if (expected === undefined ? previous !== undefined : previous === undefined || !bytesEqual(previous, expected)) {
      throw new SnapshotError(`levels file of ${JSON.stringify(levels.header.snapshot)} does not follow the one before it`);
    }
    for (const row of levels.rows) {
      rows.delete(row.key);
      if (!isDefault(row)) rows.set(row.key, row);
    }
  });
  const last = files[files.length - 1]!;
  const merged = [...rows.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return new SnapshotLevels(last.header, merged, last.note, last.sha256);
}
