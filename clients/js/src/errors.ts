/**
 * The one error hierarchy of the protocol (spec §0, `registry/core/errors.py`).
 *
 * Every function of this package that rejects its input throws a subclass of
 * {@link ProtocolError}; none returns a boolean for "invalid". `slug` is the stable name the
 * node uses as the last segment of its RFC 9457 problem type; `name` is the Python class name,
 * which the test vectors use to name the error class of each invalid case.
 */

/** Base of every error this package throws. */
export class ProtocolError extends Error {
  static readonly slug: string = "protocol-error";
  /** The Python class name ("EncodingError", ...), as the vectors name it. */
  override readonly name: string = "ProtocolError";
  /** The node's problem slug (RFC 9457 type). */
  readonly slug: string = "protocol-error";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Bytes or text are not a valid encoding (JSON, base64, hex, base58, UTF-8). */
export class EncodingError extends ProtocolError {
  static override readonly slug: string = "bad-encoding";
  override readonly name: string = "EncodingError";
  override readonly slug: string = "bad-encoding";
}

/** Valid JSON, but not byte-identical to its canonical form (spec §1.2.4). */
export class NonCanonicalError extends EncodingError {
  static override readonly slug: string = "non-canonical";
  override readonly name: string = "NonCanonicalError";
  override readonly slug: string = "non-canonical";
}

/** A key, `did:key` identifier or C2SP verifier/signer key string is malformed. */
export class KeyFormatError extends ProtocolError {
  static override readonly slug: string = "bad-key";
  override readonly name: string = "KeyFormatError";
  override readonly slug: string = "bad-key";
}

/** A signature is malformed or does not verify under the given key. */
export class SignatureError extends ProtocolError {
  static override readonly slug: string = "bad-signature";
  override readonly name: string = "SignatureError";
  override readonly slug: string = "bad-signature";
}

/** A record does not conform to its schema (spec §2). */
export class RecordError extends ProtocolError {
  static override readonly slug: string = "bad-record";
  override readonly name: string = "RecordError";
  override readonly slug: string = "bad-record";
}

/** A record or one of its fields exceeds a limit (spec §2.6). */
export class LimitError extends RecordError {
  static override readonly slug: string = "limit-exceeded";
  override readonly name: string = "LimitError";
  override readonly slug: string = "limit-exceeded";
}

/** A record's `issued_at` is further ahead of the receiver's clock than it allows (spec §2.11). */
export class FutureRecordError extends RecordError {
  static override readonly slug: string = "future-dated";
  override readonly name: string = "FutureRecordError";
  override readonly slug: string = "future-dated";
}

/** A preference category or value is malformed (spec §3.1). */
export class PreferenceError extends ProtocolError {
  static override readonly slug: string = "bad-preference";
  override readonly name: string = "PreferenceError";
  override readonly slug: string = "bad-preference";
}

/** A `Content-Usage` value is not a valid RFC 9651 Dictionary (spec §3.3). */
export class StructuredFieldError extends PreferenceError {
  static override readonly slug: string = "bad-structured-field";
  override readonly name: string = "StructuredFieldError";
  override readonly slug: string = "bad-structured-field";
}

/** A Merkle proof is malformed or does not verify (spec §4.2). */
export class ProofError extends ProtocolError {
  static override readonly slug: string = "bad-proof";
  override readonly name: string = "ProofError";
  override readonly slug: string = "bad-proof";
}

/** An inclusion proof does not lead from the leaf to the expected root. */
export class InclusionProofError extends ProofError {
  static override readonly slug: string = "bad-inclusion-proof";
  override readonly name: string = "InclusionProofError";
  override readonly slug: string = "bad-inclusion-proof";
}

/** A consistency proof does not show the larger tree extends the smaller one. */
export class ConsistencyProofError extends ProofError {
  static override readonly slug: string = "bad-consistency-proof";
  override readonly name: string = "ConsistencyProofError";
  override readonly slug: string = "bad-consistency-proof";
}

/** A tile coordinate, tile path, hash tile or entry bundle is malformed (spec §4.3-§4.5). */
export class TileError extends ProtocolError {
  static override readonly slug: string = "bad-tile";
  override readonly name: string = "TileError";
  override readonly slug: string = "bad-tile";
}

/** A signed note is malformed (spec §5.1). */
export class NoteError extends ProtocolError {
  static override readonly slug: string = "bad-note";
  override readonly name: string = "NoteError";
  override readonly slug: string = "bad-note";
}

/** No trusted signature verifies, or a trusted one fails (spec §5.4). */
export class UnverifiedNoteError extends NoteError {
  static override readonly slug: string = "unverified-note";
  override readonly name: string = "UnverifiedNoteError";
  override readonly slug: string = "unverified-note";
}

/** A checkpoint body is malformed (spec §5.5). */
export class CheckpointError extends ProtocolError {
  static override readonly slug: string = "bad-checkpoint";
  override readonly name: string = "CheckpointError";
  override readonly slug: string = "bad-checkpoint";
}

/** A receipt (C2SP tlog-proof) is malformed or does not verify (spec §5.8). */
export class ReceiptError extends ProtocolError {
  static override readonly slug: string = "bad-receipt";
  override readonly name: string = "ReceiptError";
  override readonly slug: string = "bad-receipt";
}

/** An offline snapshot is malformed, or its filter, binding or chain is wrong (spec §8). */
export class SnapshotError extends ProtocolError {
  static override readonly slug: string = "bad-snapshot";
  override readonly name: string = "SnapshotError";
  override readonly slug: string = "bad-snapshot";
}
