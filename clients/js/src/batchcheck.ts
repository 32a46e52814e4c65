/**
 * The binary batch check's answer format (spec §6.8.4): N status bytes, one per item in request
 * order, then details of the known items only. Status bit 0 (KNOWN): at least one current claim;
 * bit 1 (TRAIN_AI_N): `train-ai` resolves to `n`; bit 2 (TRAIN_AI_Y): it resolves to `y`. Per
 * known item: u8 P, then P times (u8 length, the category in ASCII, one byte `y` or `n`); then a
 * big-endian u16 D and D declaration ids of 32 bytes each.
 * With identity (an answer to `?identity=1`, ADR 0023), each known item's D ids are followed,
 * for each of those declarations in the same order, by its claim's identity: u16 L and L bytes
 * of the level in printable ASCII; u8 flags (bit 0 COUNTED, other bits zero); u16 E and E
 * evidence ids; u16 K and K counter-statement ids (32 bytes each). Counts are big-endian.
 * The TypeScript counterpart of registry/core/batchcheck.py (`decodeAnswers`).
 */
import { EncodingError } from "./errors.js";

export const KNOWN = 0x01;
export const TRAIN_AI_N = 0x02;
export const TRAIN_AI_Y = 0x04;
/** Bit 0 of a claim's flags: the claim counts under the policy (spec §9.4.7). */
export const COUNTED = 0x01;
const DIGEST = 32;

/** The identity of one declaration's claim (spec §9.4.5), as the JSON batch check gives it. */
export interface CheckClaim {
  declaration: string;
  level: string;
  evidence: string[];
  counted: boolean;
  disputed_by: string[];
}

/**
 * What is known about one item: combined preferences and the declarations behind them, and, in
 * an answer with identity only, one claim per declaration in the same order.
 */
export interface CheckAnswer {
  prefs: Record<string, string>;
  declarations: string[];
  claims?: CheckClaim[];
}

/** Options of {@link decodeAnswers}. */
export interface DecodeOptions {
  /** The body answers `?identity=1`: read each known item's claims. */
  identity?: boolean;
}

function status(answer: CheckAnswer): number {
  const value = answer.prefs["train-ai"];
  return KNOWN | (value === "n" ? TRAIN_AI_N : value === "y" ? TRAIN_AI_Y : 0);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Read an answer body for `count` items: one CheckAnswer or null per item; with
 * `{ identity: true }`, each known item's claims too.
 * @throws EncodingError the body is truncated, too long, or its status bytes, a level or a
 *   claim's flags are invalid.
 */
export function decodeAnswers(
  data: Uint8Array,
  count: number,
  options: DecodeOptions = {},
): (CheckAnswer | null)[] {
  if (data.length < count) {
    throw new EncodingError(`expected ${count} status bytes, got ${data.length} bytes`);
  }
  let position = count;
  const take = (n: number): Uint8Array => {
    if (position + n > data.length) throw new EncodingError("the answer is truncated");
    const chunk = data.subarray(position, position + n);
    position += n;
    return chunk;
  };
  const ascii = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
  const u16 = (): number => {
    const size = take(2);
    return ((size[0] ?? 0) << 8) | (size[1] ?? 0);
  };
  const ids = (): string[] => {
    const out: string[] = [];
    for (let i = u16(); i > 0; i--) out.push(hex(take(DIGEST)));
    return out;
  };
  const claim = (declaration: string): CheckClaim => {
    const level = take(u16());
    if (level.length === 0 || level.some((b) => b < 0x21 || b > 0x7e)) {
      throw new EncodingError(`invalid level ${JSON.stringify(ascii(level))}`);
    }
    const flags = take(1)[0] ?? 0;
    if (flags & ~COUNTED) {
      throw new EncodingError(`invalid claim flags 0x${flags.toString(16).padStart(2, "0")}`);
    }
    const evidence = ids();
    return { declaration, level: ascii(level), evidence, counted: flags === COUNTED, disputed_by: ids() };
  };
  const out: (CheckAnswer | null)[] = [];
  for (const code of data.subarray(0, count)) {
    if (code & ~(KNOWN | TRAIN_AI_N | TRAIN_AI_Y) || (code !== 0 && !(code & KNOWN))) {
      throw new EncodingError(`invalid status byte 0x${code.toString(16).padStart(2, "0")}`);
    }
    if (code === 0) {
      out.push(null);
      continue;
    }
    const prefs: Record<string, string> = {};
    const categories = take(1)[0] ?? 0;
    for (let i = 0; i < categories; i++) {
      const name = ascii(take(take(1)[0] ?? 0));
      const value = ascii(take(1));
      if (value !== "y" && value !== "n") {
        throw new EncodingError(`invalid preference value ${JSON.stringify(value)}`);
      }
      prefs[name] = value;
    }
    const declarations = ids();
    const answer: CheckAnswer = { prefs, declarations };
    if (status(answer) !== code) {
      throw new EncodingError(`status byte 0x${code.toString(16).padStart(2, "0")} disagrees with the details`);
    }
    if (options.identity === true) answer.claims = declarations.map(claim);
    out.push(answer);
  }
  if (position !== data.length) throw new EncodingError("unexpected bytes after the answer");
  return out;
}
