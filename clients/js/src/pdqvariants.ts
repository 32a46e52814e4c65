/**
 * The PDQ hashes of crops of an image: the `pdq_variants` a declaration carries (spec §2.4, ADR
 * 0011), and the query hashes a checker asks about a copy (spec §6.8.3 item 6). The same crops,
 * anchors, sizes and rules as the Python SDK (clients/python/consent/fingerprint.py:
 * `pdq_variants_of_image`, `pdq_query_hashes`), and the same pixels: the image is scaled down
 * exactly as Pillow's `Image.thumbnail(..., LANCZOS)` does it (an integer box reduction, then a
 * fixed-point Lanczos resampling, written here from the description of Pillow's `reduce` and
 * `resize`), so that on the same decoded pixels both languages give the same hashes
 * (`clients/js/test/pdqvariants.test.ts` checks it against the SDK).
 */
import { EncodingError } from "./errors.js";
import { pdqHash, type RgbaImage } from "./pdq.js";

/** Crops whose PDQ quality is below this are left out (spec §2.4); a node ignores lower ones. */
export const PDQ_MIN_QUALITY = 50;
/** Crops are hashed on the image scaled down to at most this many pixels a side (spec §2.4). */
export const VARIANT_SIDE = 256;
/** The whole image and its flips and rotations are hashed at most this size (the SDK's). */
export const DIHEDRAL_SIDE = 1024;

// spec §6.8.3 item 6 / ADR 0011: the distances each query hash of a copy is asked at and stands
// within, and the rules on which matches stand. Each mirrors the Python SDK's constant of the
// same name (consent/fingerprint.py; PDQ_MATCH_DISTANCE from registry.wire): change them together
// (clients/js/test/pdqvariants.test.ts checks the query hashes against the SDK's).
/** The image itself and the image without a uniform border are asked (and stand) within this. */
export const PDQ_MATCH_DISTANCE = 31;
/** Within this, a match of one of the copy's 7 other flips and rotations stands on its own. */
export const PDQ_TURN_DISTANCE = 8;
/** The cuts of a copy (lined up with declared crops), and the flips' confirming crops. */
export const PDQ_CUT_DISTANCE = 26;
/**
 * A flip or rotation is asked within this; its match beyond {@link PDQ_TURN_DISTANCE} stands only
 * if {@link PDQ_CONFIRMATIONS} of the same flip's crops ({@link CONFIRMING_CROPS}, asked within
 * {@link PDQ_CUT_DISTANCE}, never standing on their own) match the same work.
 */
export const PDQ_FLIP_CONFIRMED_DISTANCE = PDQ_MATCH_DISTANCE;
/** How many of a flip's crops must match a work to confirm the flip's farther match. */
export const PDQ_CONFIRMATIONS = 2;
/**
 * Query hashes of lower PDQ quality are asked (and stand) within at most
 * {@link PDQ_WEAK_DISTANCE}; a match farther than it whose declared image has a lower quality is
 * dropped (the checker reads the quality from the match's declarations).
 */
export const PDQ_WEAK_QUALITY = 70;
export const PDQ_WEAK_DISTANCE = 16;

// (kept share of each side, horizontal anchor, vertical anchor): the 9 crops keeping 90% at the
// 9 anchors of a 3x3 grid, then the 7 keeping 80% other than middle-left and middle-right.
const ANCHORS: readonly (readonly [number, number])[] = [0, 0.5, 1].flatMap((y) => [0, 0.5, 1].map((x) => [x, y] as const));
const CROP_KEEPS = [0.9, 0.8] as const;
/** The 16 declared crops of spec §2.4, in the SDK's order. */
export const DECLARED_CROPS: readonly (readonly [number, number, number])[] = [
  ...ANCHORS.map(([x, y]) => [0.9, x, y] as const),
  ...ANCHORS.filter(([x, y]) => y !== 0.5 || x === 0.5).map(([x, y]) => [0.8, x, y] as const),
];
/** The declared crops keeping 90%, cut from each flip of a copy to confirm it (SDK's name). */
export const CONFIRMING_CROPS: readonly (readonly [number, number, number])[] = DECLARED_CROPS.filter(([keep]) => keep === CROP_KEEPS[0]);
/** How much of each side a copy may have lost at the anchored edges (the check's cuts). */
const CROP_LOSSES = [0, 0.025, 0.05, 0.075, 0.1] as const;
const BORDER_TOLERANCE = 24; // grey levels a border pixel may differ from the corner's

/** Python's round(): to the nearest integer, halves to even. */
function pyRound(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function checked(image: RgbaImage): void {
  const { width, height, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data.length !== 4 * width * height) {
    throw new EncodingError("RGBA data does not match the image size");
  }
}

function blank(width: number, height: number): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(4 * width * height);
  for (let i = 3; i < data.length; i += 4) data[i] = 255;
  return { width, height, data };
}

/** A rectangle of an image (Pillow's `crop` within the image). */
export function cropRgba(image: RgbaImage, x: number, y: number, width: number, height: number): RgbaImage {
  const out = new Uint8Array(4 * width * height);
  for (let row = 0; row < height; row++) {
    const from = 4 * ((y + row) * image.width + x);
    out.set(image.data.subarray(from, from + 4 * width), 4 * row * width);
  }
  return { width, height, data: out };
}

// Pillow's reduce(): each output pixel the rounded mean of a factor_x x factor_y block (smaller
// at the right and bottom edges), in its fixed-point arithmetic.
function reduce(image: RgbaImage, fx: number, fy: number): RgbaImage {
  const outW = Math.ceil(image.width / fx);
  const outH = Math.ceil(image.height / fy);
  const out = blank(outW, outH);
  const src = image.data;
  // division_UINT32: (float)2^32 / (float)(256 count), truncated; per block size
  const multipliers = new Map<number, number>();
  const multiplierOf = (count: number) => {
    let m = multipliers.get(count);
    if (m === undefined) multipliers.set(count, (m = Math.trunc(Math.fround(4294967296 / Math.fround(256 * count)))));
    return m;
  };
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * fy;
    const y1 = Math.min(image.height, y0 + fy);
    for (let ox = 0; ox < outW; ox++) {
      const x0 = ox * fx;
      const x1 = Math.min(image.width, x0 + fx);
      const count = (x1 - x0) * (y1 - y0);
      const multiplier = multiplierOf(count);
      const amend = Math.floor(count / 2);
      let r = amend;
      let g = amend;
      let b = amend;
      for (let y = y0; y < y1; y++) {
        for (let x = x0, i = 4 * (y * image.width + x0); x < x1; x++, i += 4) {
          r += src[i]!;
          g += src[i + 1]!;
          b += src[i + 2]!;
        }
      }
      const o = 4 * (oy * outW + ox);
      out.data[o] = Math.floor((r * multiplier) / 16777216);
      out.data[o + 1] = Math.floor((g * multiplier) / 16777216);
      out.data[o + 2] = Math.floor((b * multiplier) / 16777216);
    }
  }
  return out;
}

function lanczos(x: number): number {
  if (!(-3 <= x && x < 3)) return 0;
  const sinc = (v: number) => (v === 0 ? 1 : Math.sin(v * Math.PI) / (v * Math.PI));
  return sinc(x) * sinc(x / 3);
}

const PRECISION_BITS = 22; // Pillow's 32 - 8 - 2

/** Pillow's precompute_coeffs for Lanczos, then its fixed-point coefficients. */
function coefficients(inSize: number, in0: number, in1: number, outSize: number): { ksize: number; bounds: Int32Array; kk: Int32Array } {
  const first = Math.fround(in0);
  const scale = Math.fround(Math.fround(in1) - first) / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 3 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const weights = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = first + (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = lanczos((x + xmin - center + 0.5) * ss);
      weights[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const k = ww !== 0 ? weights[x]! / ww : weights[x]!;
      kk[xx * ksize + x] = k < 0 ? Math.trunc(-0.5 + k * (1 << PRECISION_BITS)) : Math.trunc(0.5 + k * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(ss: number): number {
  const v = ss >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// Pillow's ImagingResampleInner for 8-bit RGB: a horizontal pass over the rows the vertical pass
// reads, then the vertical pass, each rounding to 8 bits.
function resample(image: RgbaImage, width: number, height: number, box: readonly [number, number, number, number]): RgbaImage {
  const needH = width !== image.width || box[0] !== 0 || Math.fround(box[2]) !== width;
  const needV = height !== image.height || box[1] !== 0 || Math.fround(box[3]) !== height;
  const vert = coefficients(image.height, box[1], box[3], height);
  let current = image;
  let rowOffset = 0;
  if (needH) {
    const firstRow = vert.bounds[0]!;
    const lastRow = vert.bounds[height * 2 - 2]! + vert.bounds[height * 2 - 1]!;
    const horiz = coefficients(image.width, box[0], box[2], width);
    const temp = blank(width, lastRow - firstRow);
    const src = image.data;
    for (let yy = 0; yy < temp.height; yy++) {
      const rowBase = 4 * (yy + firstRow) * image.width;
      for (let xx = 0; xx < width; xx++) {
        const xmin = horiz.bounds[xx * 2]!;
        const xmax = horiz.bounds[xx * 2 + 1]!;
        const k = xx * horiz.ksize;
        let r = 1 << (PRECISION_BITS - 1);
        let g = r;
        let b = r;
        for (let x = 0, i = rowBase + 4 * xmin; x < xmax; x++, i += 4) {
          const c = horiz.kk[k + x]!;
          r += src[i]! * c;
          g += src[i + 1]! * c;
          b += src[i + 2]! * c;
        }
        const o = 4 * (yy * width + xx);
        temp.data[o] = clip8(r);
        temp.data[o + 1] = clip8(g);
        temp.data[o + 2] = clip8(b);
      }
    }
    current = temp;
    rowOffset = firstRow;
  }
  if (!needV) return needH ? current : { width: image.width, height: image.height, data: image.data.slice() };
  const out = blank(current.width, height);
  const src = current.data;
  const w = current.width;
  // Row by row (cache-friendly): the sums are exact integers, so the order does not matter.
  const sums = new Float64Array(4 * w);
  for (let yy = 0; yy < height; yy++) {
    const ymin = vert.bounds[yy * 2]! - rowOffset;
    const ymax = vert.bounds[yy * 2 + 1]!;
    const k = yy * vert.ksize;
    sums.fill(1 << (PRECISION_BITS - 1));
    for (let y = 0; y < ymax; y++) {
      const c = vert.kk[k + y]!;
      const row = 4 * (ymin + y) * w;
      for (let i = 0; i < 4 * w; i += 4) {
        sums[i] = sums[i]! + src[row + i]! * c;
        sums[i + 1] = sums[i + 1]! + src[row + i + 1]! * c;
        sums[i + 2] = sums[i + 2]! + src[row + i + 2]! * c;
      }
    }
    const o = 4 * yy * w;
    for (let i = 0; i < 4 * w; i += 4) {
      out.data[o + i] = clip8(sums[i]!);
      out.data[o + i + 1] = clip8(sums[i + 1]!);
      out.data[o + i + 2] = clip8(sums[i + 2]!);
    }
  }
  return out;
}

/**
 * The image scaled down to at most `side` pixels on each side, keeping its aspect, exactly as
 * Pillow's `Image.thumbnail((side, side), Image.Resampling.LANCZOS)` does it on an RGB image in
 * memory (`reducing_gap` 2: an integer box reduction first when the image is more than twice as
 * large, then Lanczos). The image itself if it already fits. Alpha is ignored (set to 255).
 */
export function thumbnailLanczos(image: RgbaImage, side: number): RgbaImage {
  checked(image);
  const { width, height } = image;
  if (side >= width && side >= height) return image;
  // preserve_aspect_ratio: the nearer of floor and ceil to the aspect (floor on a tie), at least 1
  const aspect = width / height;
  let x = side;
  let y = side;
  const nearest = (value: number, key: (n: number) => number) => {
    const lo = Math.floor(value);
    const hi = Math.ceil(value);
    return Math.max(key(hi) < key(lo) ? hi : lo, 1);
  };
  if (x / y >= aspect) x = nearest(y * aspect, (n) => Math.abs(aspect - n / y));
  else y = nearest(x / aspect, (n) => (n === 0 ? 0 : Math.abs(aspect - x / n)));
  if (x === width && y === height) return image;
  let source = image;
  let box: [number, number, number, number] = [0, 0, width, height];
  const fx = Math.trunc(width / x / 2) || 1;
  const fy = Math.trunc(height / y / 2) || 1;
  if (fx > 1 || fy > 1) {
    // The safe box of a whole-image resize is the whole image.
    source = reduce(image, fx, fy);
    box = [0, 0, width / fx, height / fy];
  }
  return resample(source, x, y, box);
}

/** Pillow-style crop keeping `keepX` and `keepY` of the sides at anchor (`ax`, `ay`) in 0..1. */
function anchoredCrop(image: RgbaImage, keepX: number, keepY: number, ax: number, ay: number): RgbaImage {
  const w = Math.max(1, pyRound(image.width * keepX));
  const h = Math.max(1, pyRound(image.height * keepY));
  return cropRgba(image, pyRound((image.width - w) * ax), pyRound((image.height - h) * ay), w, h);
}

/**
 * The PDQ hashes of the 16 anchored crops of an image (spec §2.4 `pdq_variants`, ADR 0011), on
 * the image scaled down to at most {@link VARIANT_SIDE} pixels a side: sorted and unique; crops
 * whose PDQ quality is below `minQuality` are left out. What the Python SDK's
 * `pdq_variants_of_image` gives on the same pixels. A declaration also leaves out any equal to
 * the work's `pdq` and keeps at most MAX_PDQ_VARIANTS ({@link declaredPdqVariants}).
 */
export function pdqVariants(image: RgbaImage, minQuality: number = PDQ_MIN_QUALITY): string[] {
  const small = thumbnailLanczos(image, VARIANT_SIDE);
  const found = new Set<string>();
  for (const [keep, ax, ay] of DECLARED_CROPS) {
    const { hash, quality } = pdqHash(anchoredCrop(small, keep, keep, ax, ay));
    if (quality >= minQuality) found.add(hash);
  }
  return [...found].sort();
}

/**
 * The `pdq_variants` of a work whose image has PDQ `pdq` of quality `quality` (as the SDK's
 * `fingerprint` declares them): none if the quality is below 50 (a node ignores the work's PDQ
 * hashes then), else {@link pdqVariants} without `pdq`, at most 16.
 */
export function declaredPdqVariants(image: RgbaImage, pdq: string, quality: number): string[] {
  if (quality < PDQ_MIN_QUALITY) return [];
  return pdqVariants(image)
    .filter((h) => h !== pdq)
    .slice(0, 16);
}

/** The 8 flips and rotations of Pillow's `Image.Transpose`, in its order (all but identity). */
const TRANSPOSES = ["FLIP_LEFT_RIGHT", "FLIP_TOP_BOTTOM", "ROTATE_90", "ROTATE_180", "ROTATE_270", "TRANSPOSE", "TRANSVERSE"] as const;

function transpose(image: RgbaImage, method: (typeof TRANSPOSES)[number]): RgbaImage {
  const { width: w, height: h, data } = image;
  const swap = method === "ROTATE_90" || method === "ROTATE_270" || method === "TRANSPOSE" || method === "TRANSVERSE";
  const outW = swap ? h : w;
  const outH = swap ? w : h;
  const out = new Uint8Array(data.length);
  // For each output pixel (x, y), the source pixel (Pillow's definitions; ROTATE_90 is
  // counter-clockwise).
  const source: (x: number, y: number) => number = {
    FLIP_LEFT_RIGHT: (x: number, y: number) => y * w + (w - 1 - x),
    FLIP_TOP_BOTTOM: (x: number, y: number) => (h - 1 - y) * w + x,
    ROTATE_90: (x: number, y: number) => x * w + (w - 1 - y),
    ROTATE_180: (x: number, y: number) => (h - 1 - y) * w + (w - 1 - x),
    ROTATE_270: (x: number, y: number) => (h - 1 - x) * w + y,
    TRANSPOSE: (x: number, y: number) => x * w + y,
    TRANSVERSE: (x: number, y: number) => (h - 1 - x) * w + (w - 1 - y),
  }[method];
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const s = 4 * source(x, y);
      const o = 4 * (y * outW + x);
      out[o] = data[s]!;
      out[o + 1] = data[s + 1]!;
      out[o + 2] = data[s + 2]!;
      out[o + 3] = data[s + 3]!;
    }
  }
  return { width: outW, height: outH, data: out };
}

/**
 * The image without a uniform border (a frame or letterbox of the top-left pixel's colour, each
 * pixel's difference from it within {@link BORDER_TOLERANCE} grey levels, grey as Pillow's
 * `convert("L")`); the image itself if there is none or all is border. The SDK's `trim_border`.
 */
export function trimBorder(image: RgbaImage): RgbaImage {
  checked(image);
  const { width, height, data } = image;
  const [r0, g0, b0] = [data[0]!, data[1]!, data[2]!];
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = 4 * y * width; x < width; x++, i += 4) {
      const grey = (Math.abs(data[i]! - r0) * 19595 + Math.abs(data[i + 1]! - g0) * 38470 + Math.abs(data[i + 2]! - b0) * 7471 + 0x8000) >> 16;
      if (grey > BORDER_TOLERANCE) {
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        if (y > bottom) bottom = y;
      }
    }
  }
  if (right < 0 || (left === 0 && top === 0 && right === width - 1 && bottom === height - 1)) return image;
  return cropRgba(image, left, top, right - left + 1, bottom - top + 1);
}

/**
 * What a checker asks about one image (spec §6.8.3 item 6), as the SDK's `PdqQuery`: its own PDQ
 * hash (the answer names the copy by it) and each query hash with the `max_distance` it is asked
 * at, each hash once, in order of first appearance.
 */
export interface PdqQuery {
  pdq: string;
  asks: [hash: string, maxDistance: number][];
  /**
   * The query hashes whose match stands on its own only within a smaller distance than they are
   * asked at: flips and rotations {@link PDQ_TURN_DISTANCE}, a flip's crops asked only to confirm
   * it -1 (never). Every other hash's match stands within its asked distance.
   */
  alone: [hash: string, distance: number][];
  /** (a flip or rotation, its crops): its match within its asked distance stands if
   * {@link PDQ_CONFIRMATIONS} of its crops match the same work. */
  confirm: [flip: string, crops: string[]][];
}

/** (hash, quality, asked distance, standing distance of its kind) -> the query: a weak hash asked
 * (and standing) within at most the weak distance; a hash of several kinds at the largest of each.
 * The SDK's `_query`. */
function query(pdq: string, items: Iterable<readonly [string, number, number, number]>, confirm: [string, string[]][] = []): PdqQuery {
  const asked = new Map<string, number>();
  const alone = new Map<string, number>();
  for (const [hash, quality, kindAsked, kindAlone] of items) {
    const cap = quality < PDQ_WEAK_QUALITY ? PDQ_WEAK_DISTANCE : kindAsked;
    asked.set(hash, Math.max(Math.min(kindAsked, cap), asked.get(hash) ?? -1));
    alone.set(hash, Math.max(Math.min(kindAlone, cap), alone.get(hash) ?? -1));
  }
  const smaller = [...alone.entries()].filter(([h, d]) => d < asked.get(h)!);
  return { pdq, asks: [...asked.entries()], alone: smaller, confirm };
}

/**
 * The PDQ hashes a checker asks about for one image, the distance each is asked at and the rules
 * on which of their matches stand (spec §6.8.3 item 6, the recommended check; the Python SDK's
 * `pdq_query_hashes` on the same pixels): the image itself (scaled to at most
 * {@link DIHEDRAL_SIDE}) and the image without a uniform border within {@link PDQ_MATCH_DISTANCE};
 * its 7 other flips and rotations within {@link PDQ_FLIP_CONFIRMED_DISTANCE}, standing alone
 * within {@link PDQ_TURN_DISTANCE}, farther only if confirmed by {@link PDQ_CONFIRMATIONS} of the
 * flip's {@link CONFIRMING_CROPS} (within {@link PDQ_CUT_DISTANCE}, never standing alone); and
 * the cuts lined up with each declared crop after a loss of 0 to 10% of each side within
 * {@link PDQ_CUT_DISTANCE} (crops and cuts of quality 50 or more, on the image scaled to
 * {@link VARIANT_SIDE}); hashes of quality below {@link PDQ_WEAK_QUALITY} within at most
 * {@link PDQ_WEAK_DISTANCE}. `own`, if given, is the copy's own PDQ hash and quality as computed
 * elsewhere (asked first, at the match distance, and named `pdq`), as the SDK's
 * `pdq_query_of_bytes` adds it.
 */
export function pdqQueryHashes(image: RgbaImage, own?: { hash: string; quality: number }): PdqQuery {
  checked(image);
  const small = thumbnailLanczos(image, VARIANT_SIDE);
  const whole = thumbnailLanczos(image, DIHEDRAL_SIDE);
  const itself = pdqHash(whole);
  const items: [string, number, number, number][] = [[itself.hash, itself.quality, PDQ_MATCH_DISTANCE, PDQ_MATCH_DISTANCE]];
  const confirm: [string, string[]][] = [];
  // Each flip or rotation hashed on its own (PDQ's one-pass dihedral hashes differ from them).
  for (const method of TRANSPOSES) {
    const turned = pdqHash(transpose(whole, method));
    items.push([turned.hash, turned.quality, PDQ_FLIP_CONFIRMED_DISTANCE, PDQ_TURN_DISTANCE]);
    const flipped = transpose(small, method);
    const crops: string[] = [];
    for (const [keep, ax, ay] of CONFIRMING_CROPS) {
      const r = pdqHash(anchoredCrop(flipped, keep, keep, ax, ay));
      if (r.quality >= PDQ_MIN_QUALITY) {
        crops.push(r.hash);
        items.push([r.hash, r.quality, PDQ_CUT_DISTANCE, -1]);
      }
    }
    confirm.push([turned.hash, crops]);
  }
  const trimmed = trimBorder(small);
  if (trimmed.width !== small.width || trimmed.height !== small.height) {
    const r = pdqHash(trimmed);
    items.push([r.hash, r.quality, PDQ_MATCH_DISTANCE, PDQ_MATCH_DISTANCE]);
  }
  for (const keepDeclared of CROP_KEEPS) {
    for (const loss of CROP_LOSSES) {
      const keep = Math.min(1, keepDeclared / (1 - loss));
      for (const [ax, ay] of ANCHORS) {
        const r = pdqHash(anchoredCrop(small, keep, keep, ax, ay));
        if (r.quality >= PDQ_MIN_QUALITY) items.push([r.hash, r.quality, PDQ_CUT_DISTANCE, PDQ_CUT_DISTANCE]);
      }
    }
  }
  const found = query(itself.hash, items, confirm);
  if (own === undefined) return found;
  // The SDK's pdq_query_of_bytes (_with_own): the own hash first, then the others at their
  // distances, each standing where it stood.
  const standing = pdqQueryStanding(found);
  const kept = found.asks.map(([h, d]) => [h, 100, d, standing.get(h)!] as const);
  return query(own.hash, [[own.hash, own.quality, PDQ_MATCH_DISTANCE, PDQ_MATCH_DISTANCE], ...kept], found.confirm);
}

/** Each query hash and the distance within which its match stands on its own (-1: never). */
export function pdqQueryStanding(query: PdqQuery): Map<string, number> {
  return new Map([...query.asks, ...query.alone]);
}

/**
 * Given the works each query hash matched within its asked distance (`found.get(hash)`, SHA-256s),
 * the works each flip or rotation may stand for beyond its standing distance: those matched by at
 * least {@link PDQ_CONFIRMATIONS} of its crops (the SDK's `PdqQuery.confirmed`).
 */
export function pdqQueryConfirmed(query: PdqQuery, found: ReadonlyMap<string, Iterable<string>>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [flip, crops] of query.confirm) {
    const votes = new Map<string, number>();
    for (const crop of crops) {
      for (const work of new Set(found.get(crop) ?? [])) votes.set(work, (votes.get(work) ?? 0) + 1);
    }
    out.set(flip, new Set([...votes].filter(([, n]) => n >= PDQ_CONFIRMATIONS).map(([work]) => work)));
  }
  return out;
}

/**
 * Each query hash's matches (answered within its asked distance) with only those that stand (spec
 * §6.8.3 item 6; the SDK's `_standing` in `check_pdq_copies`): within the hash's standing
 * distance, or, for a flip or rotation, of a work {@link PDQ_CONFIRMATIONS} of its crops matched.
 */
export function pdqStandingMatches<M extends { sha256: string; distance: number }>(
  query: PdqQuery,
  answers: ReadonlyMap<string, readonly M[]>,
): Map<string, M[]> {
  const standing = pdqQueryStanding(query);
  const found = new Map([...answers].map(([h, matches]) => [h, matches.map((m) => m.sha256)] as const));
  const confirmed = pdqQueryConfirmed(query, found);
  const out = new Map<string, M[]>();
  for (const [hash, matches] of answers) {
    const limit = standing.get(hash) ?? -1;
    const works = confirmed.get(hash) ?? new Set<string>();
    out.set(hash, matches.filter((m) => m.distance <= limit || works.has(m.sha256)));
  }
  return out;
}

/**
 * Whether a match stands after the declared-quality rule of spec §6.8.3 item 6 (the SDK's
 * `_drop_weak_declared`): a match farther than {@link PDQ_WEAK_DISTANCE} is dropped when every one
 * of its declarations gives the work a PDQ quality below {@link PDQ_WEAK_QUALITY}.
 * `quality(declaration, sha256)` is the declared `pdq_quality`, or undefined when the declaration
 * is missing or says none (then the match stands).
 */
export function pdqDeclaredQualityStands(
  match: { sha256: string; distance: number; declarations: readonly string[] },
  quality: (declaration: string, sha256: string) => number | undefined,
): boolean {
  if (match.distance <= PDQ_WEAK_DISTANCE || match.declarations.length === 0) return true;
  return !match.declarations.every((d) => {
    const q = quality(d, match.sha256);
    return q !== undefined && q < PDQ_WEAK_QUALITY;
  });
}

/** The query hashes grouped by the distance they are asked at (one request each). */
export function pdqQueryByDistance(query: PdqQuery): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const [hash, distance] of query.asks) {
    const list = out.get(distance);
    if (list === undefined) out.set(distance, [hash]);
    else list.push(hash);
  }
  return out;
}
