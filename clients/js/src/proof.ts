/**
 * Receipts: C2SP tlog-proof (spec §5.8). Mirrors `registry/core/proof.py`: parse strictly, build
 * in the exact text format, and verify offline against the log's key and trusted witnesses.
 */
import { b64decode, b64encode, fromUtf8 } from "./encoding.js";
import { CheckpointError, InclusionProofError, KeyFormatError, NoteError, ReceiptError } from "./errors.js";
import { openCheckpoint, parseCheckpoint, type Checkpoint, type SignedCheckpoint } from "./checkpoint.js";
import { leafHash, verifyInclusion } from "./merkle.js";
import { parseNote, type NoteVerifier } from "./note.js";

export const RECEIPT_HEADER = "c2sp.org/tlog-proof@v1";
export const MAX_PROOF_HASHES = 63;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;
const encoder = new TextEncoder();

/** A parsed, not yet verified, receipt (spec §5.8.1). `extra` is unauthenticated. */
export interface Receipt {
  index: number;
  proof: Uint8Array[];
  checkpointNote: Uint8Array;
  checkpoint: Checkpoint;
  extra?: Uint8Array | undefined;
}

/** A receipt whose checkpoint and inclusion proof verified (spec §5.8.2). */
export interface VerifiedReceipt {
  index: number;
  leafHash: Uint8Array;
  signedCheckpoint: SignedCheckpoint;
  extra?: Uint8Array | undefined;
}

function parseCheckpointNote(data: Uint8Array, index: number): Checkpoint {
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(parseNote(data).text);
  } catch (cause) {
    if (cause instanceof NoteError || cause instanceof CheckpointError) {
      throw new ReceiptError(`receipt: malformed checkpoint: ${cause.message}`, { cause });
    }
    throw cause;
  }
  if (index >= checkpoint.size) throw new ReceiptError(`receipt: index ${index} is not below the checkpoint tree size ${checkpoint.size}`);
  return checkpoint;
}

function b64(value: string, what: string): Uint8Array {
  try {
    return b64decode(value);
  } catch (cause) {
    throw new ReceiptError(`receipt: ${what} is not canonical base64`, { cause });
  }
}

/** Write a receipt in the exact C2SP tlog-proof format (spec §5.8.1). */
export function buildReceipt(index: number, inclusionProof: readonly Uint8Array[], checkpointNote: Uint8Array, extra?: Uint8Array): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new ReceiptError(`receipt: index ${index} is negative`);
  if (inclusionProof.length > MAX_PROOF_HASHES) throw new ReceiptError(`receipt: inclusion proof has more than ${MAX_PROOF_HASHES} hashes`);
  if (inclusionProof.some((h) => h.length !== 32)) throw new ReceiptError("receipt: every inclusion proof hash must be 32 bytes");
  if (extra !== undefined && !extra.length) throw new ReceiptError("receipt: extra data, when present, must not be empty");
  parseCheckpointNote(checkpointNote, index);
  const lines = [RECEIPT_HEADER];
  if (extra !== undefined) lines.push(`extra ${b64encode(extra)}`);
  lines.push(`index ${index}`, ...inclusionProof.map(b64encode));
  return lines.map((l) => l + "\n").join("") + "\n" + fromUtf8(checkpointNote);
}

function partition(text: string): [string, boolean, string] {
  const at = text.indexOf("\n");
  return at < 0 ? [text, false, ""] : [text.slice(0, at), true, text.slice(at + 1)];
}

/** Parse a receipt strictly, verifying nothing (spec §5.8.1); {@link ReceiptError} otherwise. */
export function parseReceipt(input: string | Uint8Array): Receipt {
  let text: string;
  if (typeof input === "string") text = input;
  else {
    try {
      text = fromUtf8(input);
    } catch (cause) {
      throw new ReceiptError("receipt: not valid UTF-8", { cause });
    }
  }
  let [line, sep, rest] = partition(text);
  if (line !== RECEIPT_HEADER || !sep) throw new ReceiptError(`receipt: first line must be ${JSON.stringify(RECEIPT_HEADER)}`);
  [line, , rest] = partition(rest);
  let extra: Uint8Array | undefined;
  if (line.startsWith("extra ")) {
    extra = b64(line.slice(6), "extra data");
    if (!extra.length) throw new ReceiptError("receipt: extra line present but empty");
    [line, , rest] = partition(rest);
  }
  if (!line.startsWith("index ")) throw new ReceiptError("receipt: missing 'index' line");
  const digits = line.slice(6);
  if (digits.length > 19 || !DECIMAL.test(digits)) throw new ReceiptError(`receipt: index ${JSON.stringify(digits)} is not a canonical decimal`);
  const index = Number(digits);
  const proof: Uint8Array[] = [];
  for (;;) {
    [line, sep, rest] = partition(rest);
    if (!sep) throw new ReceiptError("receipt: no blank line before the checkpoint");
    if (!line) break;
    if (proof.length === MAX_PROOF_HASHES) throw new ReceiptError(`receipt: more than ${MAX_PROOF_HASHES} inclusion proof hashes`);
    const h = b64(line, "inclusion proof hash");
    if (h.length !== 32) throw new ReceiptError("receipt: inclusion proof hash is not 32 bytes");
    proof.push(h);
  }
  const note = encoder.encode(rest);
  const checkpoint = parseCheckpointNote(note, index);
  return { index, proof, checkpointNote: note, checkpoint, extra };
}

/** Options of {@link verifyReceipt}. */
export interface VerifyReceiptOptions {
  witnesses?: readonly NoteVerifier[];
  minWitnesses?: number;
  origin?: string;
}

/**
 * Verify a receipt for `entry` (spec §5.8.2): the checkpoint's log signature, origin and
 * cosignatures (quorum `minWitnesses`), then the inclusion proof of the entry's leaf hash. Any
 * failure throws {@link ReceiptError} whose `cause` is the underlying error.
 */
export function verifyReceipt(
  receipt: string | Uint8Array,
  entry: Uint8Array,
  logVerifier: NoteVerifier,
  options: VerifyReceiptOptions = {},
): VerifiedReceipt {
  const parsed = parseReceipt(receipt);
  const leaf = leafHash(entry);
  let signed: SignedCheckpoint;
  try {
    signed = openCheckpoint(parsed.checkpointNote, logVerifier, options);
  } catch (cause) {
    if (cause instanceof NoteError || cause instanceof CheckpointError || cause instanceof KeyFormatError) {
      throw new ReceiptError(`receipt: ${cause.message}`, { cause });
    }
    throw cause;
  }
  const { checkpoint } = signed;
  try {
    verifyInclusion(leaf, parsed.index, checkpoint.size, parsed.proof, checkpoint.rootHash);
  } catch (cause) {
    if (cause instanceof InclusionProofError) {
      throw new ReceiptError(`receipt: entry is not at index ${parsed.index} of ${checkpoint.origin} at size ${checkpoint.size}: ${cause.message}`, { cause });
    }
    throw cause;
  }
  return { index: parsed.index, leafHash: leaf, signedCheckpoint: signed, extra: parsed.extra };
}
