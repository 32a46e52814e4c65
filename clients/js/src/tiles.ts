/**
 * C2SP tlog-tiles: tile and entry-bundle paths, widths, hash tiles and entry bundles (spec
 * §4.3-§4.5). Mirrors `registry/core/tiles.py`. Indexes are JavaScript numbers; a path whose
 * index is at or above 2^64 is rejected as the spec says, and one above 2^53 - 1 (a log far
 * larger than any that exists) is rejected too, since it cannot be represented exactly.
 */
import { concatBytes } from "./encoding.js";
import { TileError } from "./errors.js";
import { leafHash, rootFromLeafHashes } from "./merkle.js";

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
export const MAX_LEVEL = 63;
export const MAX_ENTRY_SIZE = 0xffff;

/** A hash tile: its level, index and width (256 when full). */
export interface TileCoord {
  level: number;
  index: number;
  width: number;
}

function checkInt(value: number, what: string, low: number, high: number): number {
  if (!Number.isSafeInteger(value) || value < low || value > high) {
    throw new TileError(`${what} must be an integer in ${low}..${high}, got ${value}`);
  }
  return value;
}

function encodeIndex(index: number): string {
  const groups = [String(index % 1000).padStart(3, "0")];
  index = Math.floor(index / 1000);
  while (index) {
    groups.push("x" + String(index % 1000).padStart(3, "0"));
    index = Math.floor(index / 1000);
  }
  return groups.reverse().join("/");
}

const suffix = (width: number): string => (width === TILE_WIDTH ? "" : `.p/${width}`);

/** The path `tile/<L>/<N>[.p/<W>]` of a hash tile (spec §4.4). */
export function tilePath(coord: TileCoord): string {
  checkInt(coord.level, "tile level", 0, MAX_LEVEL);
  checkInt(coord.index, "tile index", 0, Number.MAX_SAFE_INTEGER);
  checkInt(coord.width, "tile width", 1, TILE_WIDTH);
  return `tile/${coord.level}/${encodeIndex(coord.index)}${suffix(coord.width)}`;
}

/** The path `tile/entries/<N>[.p/<W>]` of an entry bundle (spec §4.4). */
export function entryBundlePath(index: number, width = TILE_WIDTH): string {
  checkInt(index, "bundle index", 0, Number.MAX_SAFE_INTEGER);
  checkInt(width, "bundle width", 1, TILE_WIDTH);
  return `tile/entries/${encodeIndex(index)}${suffix(width)}`;
}

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const GROUP = /^[0-9]{3}$/;

function parseDecimal(text: string, what: string): number {
  if (!DECIMAL.test(text) || text.length > 15) throw new TileError(`${what} ${JSON.stringify(text)} is not a canonical decimal number`);
  return Number(text);
}

function parseIndexAndWidth(parts: string[], path: string): [number, number] {
  let width = TILE_WIDTH;
  if (parts.length >= 2 && parts[parts.length - 2]!.endsWith(".p")) {
    width = parseDecimal(parts[parts.length - 1]!, "partial tile width");
    if (!(width >= 1 && width < TILE_WIDTH)) throw new TileError(`partial tile width must be in 1..255: ${JSON.stringify(path)}`);
    parts = [...parts.slice(0, -2), parts[parts.length - 2]!.slice(0, -2)];
  }
  let index = 0n;
  parts.forEach((element, position) => {
    const last = position === parts.length - 1;
    const digits = last ? element : element.startsWith("x") ? element.slice(1) : element;
    if ((!last && digits === element) || !GROUP.test(digits)) {
      throw new TileError(`malformed tile index element ${JSON.stringify(element)} in ${JSON.stringify(path)}`);
    }
    index = index * 1000n + BigInt(digits);
  });
  if (index > BigInt(Number.MAX_SAFE_INTEGER)) throw new TileError(`tile index out of range: ${JSON.stringify(path)}`);
  const n = Number(index);
  if (encodeIndex(n) !== parts.join("/")) throw new TileError(`non-canonical tile index in ${JSON.stringify(path)}`);
  return [n, width];
}

/** Parse a canonical `tile/<L>/<N>[.p/<W>]` (spec §4.4.3); {@link TileError} for anything else. */
export function parseTilePath(path: string): TileCoord {
  const parts = path.split("/");
  if (parts.length < 3 || parts[0] !== "tile") throw new TileError(`not a tile path: ${JSON.stringify(path)}`);
  const level = parseDecimal(parts[1]!, "tile level");
  if (level > MAX_LEVEL) throw new TileError(`tile level must be in 0..${MAX_LEVEL}: ${JSON.stringify(path)}`);
  const [index, width] = parseIndexAndWidth(parts.slice(2), path);
  return { level, index, width };
}

/** Parse a canonical `tile/entries/<N>[.p/<W>]` into `[index, width]` (spec §4.4.3). */
export function parseEntryBundlePath(path: string): [number, number] {
  const parts = path.split("/");
  if (parts.length < 3 || parts[0] !== "tile" || parts[1] !== "entries") {
    throw new TileError(`not an entry bundle path: ${JSON.stringify(path)}`);
  }
  return parseIndexAndWidth(parts.slice(2), path);
}

/** How many hashes a tree of `size` entries has at tile level `level` (spec §4.3.2). */
export function levelSize(level: number, size: number): number {
  checkInt(level, "tile level", 0, MAX_LEVEL);
  checkInt(size, "tree size", 0, Number.MAX_SAFE_INTEGER);
  return Math.floor(size / 2 ** (TILE_HEIGHT * level));
}

/** Every tile of a tree of `size` entries, level by level, left to right (spec §4.3.2). */
export function tilesForSize(size: number): TileCoord[] {
  const coords: TileCoord[] = [];
  for (let level = 0; ; level++) {
    const count = levelSize(level, size);
    if (!count) break;
    for (let i = 0; i < Math.floor(count / TILE_WIDTH); i++) coords.push({ level, index: i, width: TILE_WIDTH });
    if (count % TILE_WIDTH) coords.push({ level, index: Math.floor(count / TILE_WIDTH), width: count % TILE_WIDTH });
  }
  return coords;
}

/** The hashes of a hash tile, concatenated (1..256 hashes of 32 bytes). */
export function encodeHashTile(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length < 1 || hashes.length > TILE_WIDTH) throw new TileError(`a tile holds 1..${TILE_WIDTH} hashes, got ${hashes.length}`);
  for (const h of hashes) if (h.length !== 32) throw new TileError(`tile hashes must be 32 bytes, got ${h.length}`);
  return concatBytes(...hashes);
}

function checkCount(count: number, width: number | undefined, what: string): void {
  if (width !== undefined) {
    checkInt(width, `${what} width`, 1, TILE_WIDTH);
    if (count !== width) throw new TileError(`${what} holds ${count} items, expected ${width}`);
  } else if (count < 1 || count > TILE_WIDTH) {
    throw new TileError(`${what} must hold 1..${TILE_WIDTH} items, got ${count}`);
  }
}

/** Split a hash tile into its hashes; with `width`, exactly that many (spec §4.3.1). */
export function decodeHashTile(data: Uint8Array, width?: number): Uint8Array[] {
  if (data.length % 32) throw new TileError(`tile length ${data.length} is not a multiple of 32`);
  checkCount(data.length / 32, width, "tile");
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += 32) out.push(data.slice(i, i + 32));
  return out;
}

/** Encode 1..256 entries as an entry bundle: a big-endian uint16 length before each (spec §4.5.2). */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  checkCount(entries.length, undefined, "entry bundle");
  const parts: Uint8Array[] = [];
  entries.forEach((entry, i) => {
    if (entry.length > MAX_ENTRY_SIZE) throw new TileError(`entry ${i} is ${entry.length} bytes, over ${MAX_ENTRY_SIZE}`);
    parts.push(new Uint8Array([entry.length >> 8, entry.length & 0xff]), entry);
  });
  return concatBytes(...parts);
}

/**
 * Decode an entry bundle (spec §4.5.3): {@link TileError} if it ends inside a length or an
 * entry, holds more than 256 entries, is empty, or (with `width`) holds another number.
 */
export function decodeEntryBundle(data: Uint8Array, width?: number): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (entries.length === TILE_WIDTH) throw new TileError(`entry bundle holds more than ${TILE_WIDTH} entries`);
    if (offset + 2 > data.length) throw new TileError("entry bundle truncated inside a length prefix");
    const length = (data[offset]! << 8) | data[offset + 1]!;
    offset += 2;
    if (offset + length > data.length) throw new TileError("entry bundle truncated inside an entry");
    entries.push(data.slice(offset, offset + length));
    offset += length;
  }
  checkCount(entries.length, width, "entry bundle");
  return entries;
}

/**
 * The hash tile `coord` of a log, from its entries (spec §4.3.1): level-0 hashes are leaf hashes,
 * a level-L hash is the root of 256^L consecutive entries. For tests and small logs.
 */
export function hashTileFromEntries(coord: TileCoord, entries: readonly Uint8Array[]): Uint8Array {
  const span = 2 ** (TILE_HEIGHT * coord.level);
  const leaves = entries.map(leafHash);
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < coord.width; i++) {
    const start = (coord.index * TILE_WIDTH + i) * span;
    if (start + span > leaves.length) throw new TileError(`the log has no hash ${i} in ${tilePath(coord)}`);
    hashes.push(rootFromLeafHashes(leaves.slice(start, start + span)));
  }
  return encodeHashTile(hashes);
}

