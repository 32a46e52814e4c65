/**
 * The binary batch check's answer format (spec §6.8.4): N status bytes, one per item in request
 * order, then details of the known items only. Status bit 0 (KNOWN): at least one current claim;
 * bit 1 (TRAIN_AI_N): `train-ai` resolves to `n`; bit 2 (TRAIN_AI_Y): it resolves to `y`. Per
 * known item: u8 P, then P times (u8 length, the category in ASCII, one byte `y` or `n`); then a
 * big-endian u16 D and D declaration ids of 32 bytes each.
 * The TypeScript counterpart of registry/core/batchcheck.py (`decodeAnswers`).
 */
import { EncodingError } from "./errors.js";

export const KNOWN = 0x01;
export const TRAIN_AI_N = 0x02;
export const TRAIN_AI_Y = 0x04;
const DIGEST = 32;

/** What is known about one item: combined preferences and the declarations behind them. */
export interface CheckAnswer {
  prefs: Record<string, string>;
  declarations: string[];
}

function status(answer: CheckAnswer): number {
  const value = answer.prefs["train-ai"];
  return KNOWN | (value === "n" ? TRAIN_AI_N : value === "y" ? TRAIN_AI_Y : 0);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Read an answer body for `count` items: one CheckAnswer or null per item.
 * @throws EncodingError the body is truncated, too long, or its status bytes are invalid.
 */
export function decodeAnswers(data: Uint8Array, count: number): (CheckAnswer | null)[] {
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
    const size = take(2);
    const declarations: string[] = [];
    for (let i = 0; i < ((size[0] ?? 0) << 8 | (size[1] ?? 0)); i++) declarations.push(hex(take(DIGEST)));
    const answer = { prefs, declarations };
    if (status(answer) !== code) {
      throw new EncodingError(`status byte 0x${code.toString(16).padStart(2, "0")} disagrees with the details`);
    }
    out.push(answer);
  }
  if (position !== data.length) throw new EncodingError("unexpected bytes after the answer");
  return out;
}
