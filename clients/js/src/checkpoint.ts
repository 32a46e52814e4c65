/**
 * C2SP tlog-checkpoint bodies, signed checkpoints and cosignatures (spec §5.5-§5.7). Mirrors
 * `registry/core/checkpoint.py`. Tree sizes are JavaScript numbers: a size above 2^53 - 1 is
 * rejected (as is one above 2^63 - 1, as the spec requires); no log comes near it.
 */
import { b64decode, b64encode, bytesEqual, isWellFormed } from "./encoding.js";
import { CheckpointError, KeyFormatError, NoteError, UnverifiedNoteError } from "./errors.js";
import {
  ALG_COSIGNATURE_V1,
  appendSignatureLines,
  openNote,
  parseNote,
  parseSignatureLines,
  signNote,
  signatureLine,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
} from "./note.js";

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

function checkLine(value: string, what: string): void {
  if (!value) throw new CheckpointError(`checkpoint ${what} is empty`);
  if (/[\u0000-\u001f]/.test(value) || !isWellFormed(value)) {
    throw new CheckpointError(`checkpoint ${what} contains a control character or newline`);
  }
}

/** A checkpoint body: a log's tree head at one size (spec §5.5). */
export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions: string[];
}

/** Build and check a checkpoint body; {@link CheckpointError} if a field is invalid. */
export function newCheckpoint(origin: string, size: number, rootHash: Uint8Array, extensions: string[] = []): Checkpoint {
  checkLine(origin, "origin");
  if (!Number.isSafeInteger(size) || size < 0) throw new CheckpointError(`checkpoint size ${size} is out of range`);
  if (rootHash.length !== 32) throw new CheckpointError("checkpoint root hash must be 32 bytes");
  extensions.forEach((line) => checkLine(line, "extension line"));
  return { origin, size, rootHash, extensions: [...extensions] };
}

/** The note text of a checkpoint (spec §5.5). */
export function checkpointText(checkpoint: Checkpoint): string {
  return [checkpoint.origin, String(checkpoint.size), b64encode(checkpoint.rootHash), ...checkpoint.extensions].map((l) => l + "\n").join("");
}

/** Parse a checkpoint note text strictly (spec §5.5); {@link CheckpointError} otherwise. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw new CheckpointError("checkpoint text must end with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new CheckpointError("checkpoint text needs origin, size and root hash lines");
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (size.length > 19 || !DECIMAL.test(size)) throw new CheckpointError(`checkpoint size ${JSON.stringify(size)} is not a canonical decimal`);
  if (BigInt(size) > (1n << 63n) - 1n) throw new CheckpointError(`checkpoint size ${size} is out of range 0..2^63-1`);
  if (BigInt(size) > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError(`checkpoint size ${size} is beyond 2^53-1`);
  let rootHash: Uint8Array;
  try {
    rootHash = b64decode(root);
  } catch (cause) {
    throw new CheckpointError(`checkpoint root hash ${JSON.stringify(root)} is not canonical base64`, { cause });
  }
  return newCheckpoint(origin, Number(size), rootHash, extensions);
}

/** A verified witness cosignature (spec §5.6). */
export interface Cosignature {
  name: string;
  keyId: Uint8Array;
  timestamp: number;
}

/** A checkpoint whose log signature and required cosignatures verified (spec §5.7). */
export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  /** The signed note exactly as given. */
  note: Uint8Array;
  cosignatures: Cosignature[];
}

const signedBy = (sig: NoteSignature, verifier: NoteVerifier): boolean =>
  sig.name === verifier.name && bytesEqual(sig.keyId, verifier.keyId);

function requireCosigner(name: string, alg: number): void {
  if (alg !== ALG_COSIGNATURE_V1) throw new KeyFormatError(`witness key ${name} is not a cosignature/v1 key`);
}

/** Sign a checkpoint as its log (key name = origin), optionally with cosigners (spec §5.5, §5.6). */
export function signCheckpoint(
  checkpoint: Checkpoint,
  signer: NoteSigner,
  options: { cosigners?: readonly NoteSigner[]; timestamp?: number } = {},
): Uint8Array {
  if (signer.name !== checkpoint.origin) {
    throw new CheckpointError(`log key name ${JSON.stringify(signer.name)} must equal the checkpoint origin ${JSON.stringify(checkpoint.origin)}`);
  }
  if (signer.alg === ALG_COSIGNATURE_V1) throw new KeyFormatError("a log signs its checkpoints with an Ed25519 note key");
  const cosigners = options.cosigners ?? [];
  cosigners.forEach((c) => requireCosigner(c.name, c.alg));
  return signNote(checkpointText(checkpoint), [signer, ...cosigners], options.timestamp);
}

/** Options of {@link openCheckpoint}. */
export interface OpenCheckpointOptions {
  witnesses?: readonly NoteVerifier[];
  minWitnesses?: number;
  /** The expected origin; default: the log key's name. */
  origin?: string;
}

/**
 * Verify a signed checkpoint and its witness cosignatures (spec §5.7). Throws {@link NoteError},
 * {@link KeyFormatError}, {@link UnverifiedNoteError} (no log signature, a known signature fails,
 * too few witnesses), {@link CheckpointError} (malformed body, wrong origin).
 */
export function openCheckpoint(data: Uint8Array, logVerifier: NoteVerifier, options: OpenCheckpointOptions = {}): SignedCheckpoint {
  const witnesses = options.witnesses ?? [];
  witnesses.forEach((w) => requireCosigner(w.name, w.alg));
  const { signatures } = parseNote(data);
  if (!signatures.some((sig) => signedBy(sig, logVerifier))) {
    throw new UnverifiedNoteError(`checkpoint not signed by log key ${logVerifier.vkey.split("+").slice(0, 2).join("+")}`);
  }
  const note = openNote(data, [logVerifier, ...witnesses]);
  const checkpoint = parseCheckpoint(note.text);
  const expected = options.origin ?? logVerifier.name;
  if (checkpoint.origin !== expected) throw new CheckpointError(`checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(expected)}`);
  const cosignatures = new Map<string, Cosignature>();
  for (const sig of note.signatures) {
    if (sig.timestamp !== undefined && witnesses.some((w) => signedBy(sig, w))) {
      const slot = signatureLine({ ...sig, signature: new Uint8Array(1) });
      if (!cosignatures.has(slot)) cosignatures.set(slot, { name: sig.name, keyId: sig.keyId, timestamp: sig.timestamp });
    }
  }
  const min = options.minWitnesses ?? 0;
  if (cosignatures.size < min) throw new UnverifiedNoteError(`checkpoint has ${cosignatures.size} trusted witness cosignatures, ${min} required`);
  return { checkpoint, note: Uint8Array.from(data), cosignatures: [...cosignatures.values()] };
}

/** As a witness: verify the log's checkpoint and return our cosignature line (spec §5.6). */
export function cosignCheckpoint(data: Uint8Array, logVerifier: NoteVerifier, cosigner: NoteSigner, timestamp: number, origin?: string): string {
  requireCosigner(cosigner.name, cosigner.alg);
  const signed = openCheckpoint(data, logVerifier, origin === undefined ? {} : { origin });
  return signatureLine(cosigner.sign(checkpointText(signed.checkpoint), timestamp));
}

/**
 * Attach witness cosignature lines (each ending in a newline) to a checkpoint; each must come from
 * one of `witnesses` and verify (spec §5.6 item 5). Throws {@link NoteError} for a line from
 * another key, and as {@link openCheckpoint}.
 */
export function addCosignatures(data: Uint8Array, lines: string, logVerifier: NoteVerifier, witnesses: readonly NoteVerifier[], origin?: string): Uint8Array {
  const added = parseSignatureLines(lines);
  for (const sig of added) {
    if (!witnesses.some((w) => signedBy(sig, w))) throw new NoteError(`cosignature from ${sig.name} is not from a given witness key`);
  }
  const combined = appendSignatureLines(data, added);
  openCheckpoint(combined, logVerifier, origin === undefined ? { witnesses } : { witnesses, origin });
  return combined;
}
