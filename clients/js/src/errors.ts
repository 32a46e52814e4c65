/**
 * The one error hierarchy of the protocol (spec §0, `registry/core/errors.py`).
 *
 * Every function of this package that rejects its input throws a subclass of
 * {@link ProtocolError}; none returns a boolean for "invalid". `slug` is the stable name the
 * node uses as the last segment of its RFC 9457 problem type; `name` is the Python class name,
 * which the test vectors use to name the error class of each invalid case.
 */

export class ProtocolError extends Error {
  static readonly slug: string = "protocol-error";
  /** The Python class name ("EncodingError", ...), as the vectors name it. */
  override readonly name: string = "ProtocolError";
  readonly slug: string = "protocol-error";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

function kind(name: string, slug: string, base: typeof ProtocolError) {
  const cls = class extends base {
    static override readonly slug = slug;
    override readonly name: string = name;
    override readonly slug: string = slug;
  };
  Object.defineProperty(cls, "name", { value: name });
  return cls;
}

/** Bytes or text are not a valid encoding (JSON, base64, hex, base58, UTF-8). */
export class EncodingError extends kind("EncodingError", "bad-encoding", ProtocolError) {}
/** Valid JSON, but not byte-identical to its canonical form (spec §1.2.4). */
export class NonCanonicalError extends kind("NonCanonicalError", "non-canonical", EncodingError) {}
/** A key, `did:key` identifier or C2SP verifier/signer key string is malformed. */
export class KeyFormatError extends kind("KeyFormatError", "bad-key", ProtocolError) {}
/** A signature is malformed or does not verify under the given key. */
export class SignatureError extends kind("SignatureError", "bad-signature", ProtocolError) {}
/** A record does not conform to its schema (spec §2). */
export class RecordError extends kind("RecordError", "bad-record", ProtocolError) {}
/** A record or one of its fields exceeds a limit (spec §2.6). */
export class LimitError extends kind("LimitError", "limit-exceeded", RecordError) {}
/** A preference category or value is malformed (spec §3.1). */
export class PreferenceError extends kind("PreferenceError", "bad-preference", ProtocolError) {}
/** A `Content-Usage` value is not a valid RFC 9651 Dictionary (spec §3.3). */
export class StructuredFieldError extends kind(
  "StructuredFieldError",
  "bad-structured-field",
  PreferenceError,
) {}
/** A Merkle proof is malformed or does not verify (spec §4.2). */
export class ProofError extends kind("ProofError", "bad-proof", ProtocolError) {}
/** An inclusion proof does not lead from the leaf to the expected root. */
export class InclusionProofError extends kind("InclusionProofError", "bad-inclusion-proof", ProofError) {}
/** A consistency proof does not show the larger tree extends the smaller one. */
export class ConsistencyProofError extends kind(
  "ConsistencyProofError",
  "bad-consistency-proof",
  ProofError,
) {}
/** A tile coordinate, tile path, hash tile or entry bundle is malformed (spec §4.3-§4.5). */
export class TileError extends kind("TileError", "bad-tile", ProtocolError) {}
/** A signed note is malformed (spec §5.1). */
export class NoteError extends kind("NoteError", "bad-note", ProtocolError) {}
/** No trusted signature verifies, or a trusted one fails (spec §5.4). */
export class UnverifiedNoteError extends kind("UnverifiedNoteError", "unverified-note", NoteError) {}
/** A checkpoint body is malformed (spec §5.5). */
export class CheckpointError extends kind("CheckpointError", "bad-checkpoint", ProtocolError) {}
/** A receipt (C2SP tlog-proof) is malformed or does not verify (spec §5.8). */
export class ReceiptError extends kind("ReceiptError", "bad-receipt", ProtocolError) {}
/** An offline snapshot is malformed, or its filter, binding or chain is wrong (spec §8). */
export class SnapshotError extends kind("SnapshotError", "bad-snapshot", ProtocolError) {}
