/**
 * PDQ perceptual hashing of images (spec §2.4 `pdq`, `pdq_quality`), written from Meta's
 * published description of the algorithm ("The TMK+PDQF / PDQ hashing algorithms", ThreatExchange
 * `pdq/README.md` and hashing.pdf):
 *
 * 1. luminance Y = 0.299 R + 0.587 G + 0.114 B per pixel (alpha is ignored, as the Python SDK's
 *    RGB conversion drops it);
 * 2. two passes of a Jarosz box filter along rows then columns, window ⌈dimension / 128⌉
 *    ("tent" smoothing of the image before decimation);
 * 3. decimation to 64x64 by sampling the centres of a 64x64 grid;
 * 4. quality: the sum of the absolute neighbour differences of the 64x64 image, scaled, 0..100;
 * 5. a 16x16 DCT (the 2nd to 17th basis functions of the 64-point DCT-II in each direction);
 * 6. each of the 256 coefficients above the median (the 128th smallest) is a 1 bit.
 *
 * The reference implementation computes in single precision; this one rounds to float32 at the
 * same steps (`Math.fround`), so that it gives the same bits on the same pixels. The hex form is
 * Meta's: sixteen 16-bit words from the last to the first, bit `16 i + j` being coefficient
 * (i, j). Hashes of quality below 50 are unreliable for matching (PDQ documentation).
 */
import { EncodingError } from "./errors.js";

/** A PDQ hash (64 lowercase hex digits) and its quality 0..100. */
export interface PdqResult {
  hash: string;
  quality: number;
}

/** Pixels as a canvas `ImageData` gives them: RGBA bytes, row by row. */
export interface RgbaImage {
  width: number;
  height: number;
  /** `4 * width * height` bytes, R G B A per pixel. */
  data: Uint8Array | Uint8ClampedArray;
}

const f = Math.fround;
const DIM = 64;
const MIN_HASHABLE_DIM = 5;

// The 16x64 DCT matrix: D[i][j] = sqrt(2/64) cos(pi/128 (i+1)(2j+1)), stored as float32.
const DCT = (() => {
  const scale = f(Math.sqrt(2 / 64));
  const d = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) d[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64) * (i + 1) * (2 * j + 1));
  }
  return d;
})();

function windowSize(oldDimension: number, newDimension: number): number {
  return Math.floor((oldDimension + 2 * newDimension - 1) / (2 * newDimension));
}

/** One box filter pass over `length` values `stride` apart (windows shrink at the edges). */
function box1D(input: Float32Array, output: Float32Array, offset: number, length: number, stride: number, window: number): void {
  const half = Math.floor((window + 2) / 2);
  const phase1 = half - 1;
  const phase2 = window - half + 1;
  const phase3 = length - window;
  const phase4 = half - 1;
  let li = offset;
  let ri = offset;
  let oi = offset;
  let sum = 0;
  let current = 0;
  for (let i = 0; i < phase1; i++) {
    sum = f(sum + input[ri]!);
    current++;
    ri += stride;
  }
  for (let i = 0; i < phase2; i++) {
    sum = f(sum + input[ri]!);
    current++;
    output[oi] = sum / current;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase3; i++) {
    sum = f(sum + input[ri]!);
    sum = f(sum - input[li]!);
    output[oi] = sum / current;
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (let i = 0; i < phase4; i++) {
    sum = f(sum - input[li]!);
    current--;
    output[oi] = sum / current;
    li += stride;
    oi += stride;
  }
}

/**
 * The same box filter down every column at once, row by row (cache-friendly): each column sees
 * exactly the operations of {@link box1D}, in the same order, so the results are identical.
 */
function boxAlongCols(input: Float32Array, output: Float32Array, rows: number, cols: number, window: number): void {
  const half = Math.floor((window + 2) / 2);
  const phase1 = half - 1;
  const phase2 = window - half + 1;
  const phase3 = rows - window;
  const phase4 = half - 1;
  const sums = new Float32Array(cols); // float32 storage: every sum is rounded as in the reference
  let li = 0;
  let ri = 0;
  let oi = 0;
  let current = 0;
  for (let step = 0; step < phase1 + phase2 + phase3 + phase4; step++) {
    const adds = step < phase1 + phase2 + phase3;
    const subs = step >= phase1 + phase2;
    if (adds) {
      const base = ri++ * cols;
      for (let j = 0; j < cols; j++) sums[j] = sums[j]! + input[base + j]!;
    }
    if (subs) {
      const base = li++ * cols;
      for (let j = 0; j < cols; j++) sums[j] = sums[j]! - input[base + j]!;
    }
    if (step < phase1 + phase2) current++;
    else if (!adds) current--;
    if (step >= phase1) {
      const base = oi++ * cols;
      for (let j = 0; j < cols; j++) output[base + j] = sums[j]! / current;
    }
  }
}

/** The columns the 64x64 decimation samples: the centres of a 64-cell grid. */
function sampled(dimension: number): number[] {
  return Array.from({ length: DIM }, (_, i) => Math.trunc(((i + 0.5) * dimension) / DIM));
}

function jarosz(buffer1: Float32Array, buffer2: Float32Array, rows: number, cols: number): void {
  const alongRows = windowSize(cols, DIM);
  const alongCols = windowSize(rows, DIM);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < rows; i++) box1D(buffer1, buffer2, i * cols, cols, 1, alongRows);
    if (pass === 0) boxAlongCols(buffer2, buffer1, rows, cols, alongCols);
    else {
      // The last pass is needed only in the columns the decimation reads; every column is
      // filtered independently, so the values read are exactly the full filter's.
      for (const j of new Set(sampled(cols))) box1D(buffer2, buffer1, j, rows, cols, alongCols);
    }
  }
}

function quality(b: Float32Array): number {
  let gradient = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) gradient += Math.abs(Math.trunc(f(f(f(b[i * 64 + j]! - b[(i + 1) * 64 + j]!) * 100) / 255)));
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) gradient += Math.abs(Math.trunc(f(f(f(b[i * 64 + j]! - b[i * 64 + j + 1]!) * 100) / 255)));
  }
  return Math.min(Math.floor(gradient / 90), 100);
}

/** PDQ of a luminance image (`rows * cols` float values, row by row). */
export function pdqFromLuma(luma: Float32Array, rows: number, cols: number): PdqResult {
  if (luma.length !== rows * cols) throw new EncodingError("luma buffer does not match the image size");
  if (rows < MIN_HASHABLE_DIM || cols < MIN_HASHABLE_DIM) return { hash: "0".repeat(64), quality: 0 };
  const buffer1 = luma;
  const buffer2 = new Float32Array(rows * cols);
  jarosz(buffer1, buffer2, rows, cols);
  const small = new Float32Array(DIM * DIM);
  const sampledRows = sampled(rows);
  const sampledCols = sampled(cols);
  for (let i = 0; i < DIM; i++) {
    for (let j = 0; j < DIM; j++) small[i * DIM + j] = buffer1[sampledRows[i]! * cols + sampledCols[j]!]!;
  }
  const q = quality(small);
  // B = D A D^T (16x16), in float32 as the reference does
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let sum = 0;
      for (let k = 0; k < 64; k++) sum = f(sum + f(DCT[i * 64 + k]! * small[k * 64 + j]!));
      t[i * 64 + j] = sum;
    }
  }
  const b = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let k = 0; k < 64; k++) sum = f(sum + f(t[i * 64 + k]! * DCT[j * 64 + k]!));
      b[i * 16 + j] = sum;
    }
  }
  const median = Float32Array.from(b).sort()[127]!; // the 128th smallest, as Torben's median gives
  const words = new Uint16Array(16);
  for (let k = 0; k < 256; k++) if (b[k]! > median) words[k >> 4]! |= 1 << (k & 15);
  let hash = "";
  for (let w = 15; w >= 0; w--) hash += words[w]!.toString(16).padStart(4, "0");
  return { hash, quality: q };
}

/** Luminance (Y = 0.299 R + 0.587 G + 0.114 B, float32) of RGBA pixels; alpha is ignored. */
export function lumaFromRgba(image: RgbaImage): Float32Array {
  const { width, height, data } = image;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0) || data.length !== 4 * width * height) {
    throw new EncodingError("RGBA data does not match the image size");
  }
  const luma = new Float32Array(width * height);
  for (let p = 0, i = 0; p < luma.length; p++, i += 4) luma[p] = data[i]! * 0.299 + data[i + 1]! * 0.587 + data[i + 2]! * 0.114;
  return luma;
}

/**
 * The PDQ hash and quality of an image given as RGBA pixels (for example a canvas's `ImageData`,
 * after the browser applied the image's EXIF orientation). Throws `EncodingError` if the data
 * does not match the size.
 */
export function pdqHash(image: RgbaImage): PdqResult {
  return pdqFromLuma(lumaFromRgba(image), image.height, image.width);
}

/** Hamming distance between two PDQ hashes in hex (0..256); `EncodingError` if malformed. */
export function pdqDistance(a: string, b: string): number {
  if (!/^[0-9a-fA-F]{64}$/.test(a) || !/^[0-9a-fA-F]{64}$/.test(b)) throw new EncodingError("PDQ hashes are 64 hex digits");
  let distance = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16);
    while (x) {
      x &= x - 1;
      distance++;
    }
  }
  return distance;
}
