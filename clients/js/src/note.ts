/**
 * C2SP signed notes (spec §5.1-§5.4): key names, key IDs, verifier and signer key strings,
 * signing and opening notes, and `cosignature/v1` timestamped signatures (spec §5.6). Mirrors
 * `registry/core/note.py`.
 */
import { b64decode, b64encode, bytesEqual, bytesToHex, concatBytes, fromUtf8, isWellFormed } from "./encoding.js";
import { EncodingError, KeyFormatError, NoteError, SignatureError, UnverifiedNoteError } from "./errors.js";
import { sha256 } from "./hash.js";
import { PrivateKey, PublicKey } from "./keys.js";

/** Signature type of Ed25519 note signatures (spec §5.2). */
export const ALG_ED25519 = 0x01;
/** Signature type of timestamped `cosignature/v1` witness signatures (spec §5.6). */
export const ALG_COSIGNATURE_V1 = 0x04;
export const MAX_SIGNATURES = 100;
export const MAX_NOTE_BYTES = 1 << 20;
export const MAX_TIMESTAMP = (1n << 63n) - 1n;
const ALGORITHMS = [ALG_ED25519, ALG_COSIGNATURE_V1];
const SIG_PREFIX = "\u2014 "; // em dash, space
const HEX8 = /^[0-9a-f]{8}$/;
// the Unicode White_Space property (spec §5.2)
const UNICODE_SPACES = new Set(
  "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000",
);
const encoder = new TextEncoder();

/** Check a key name (spec §5.2): non-empty, no `+`, no Unicode space or control character. */
export function checkKeyName(name: string): void {
  if (!name) throw new KeyFormatError("key name is empty");
  if (name.includes("+")) throw new KeyFormatError(`key name ${JSON.stringify(name)} contains '+'`);
  for (const char of name) {
    const code = char.codePointAt(0)!;
    if (UNICODE_SPACES.has(char) || code < 0x20) {
      throw new KeyFormatError(`key name ${JSON.stringify(name)} contains a space or control character`);
    }
    if (code >= 0xd800 && code <= 0xdfff) throw new KeyFormatError(`key name is not valid UTF-8 (lone surrogate)`);
  }
}

/** The 4-byte key ID: SHA-256(name || 0x0A || type || public key)[:4] (spec §5.2.3). */
export function keyId(name: string, alg: number, publicKey: Uint8Array): Uint8Array {
  checkKeyName(name);
  if (!(Number.isInteger(alg) && alg >= 0 && alg <= 0xff)) throw new KeyFormatError(`signature type ${alg} is not a byte`);
  return sha256(concatBytes(encoder.encode(name), new Uint8Array([0x0a, alg]), publicKey)).slice(0, 4);
}

/** The message a `cosignature/v1` signature signs (spec §5.6 item 3). */
export function cosignatureMessage(text: string, timestamp: bigint | number): Uint8Array {
  const t = BigInt(timestamp);
  if (t < 0n || t > MAX_TIMESTAMP) throw new SignatureError(`cosignature timestamp ${t} out of range 0..2^63-1`);
  return encoder.encode(`cosignature/v1\ntime ${t}\n${text}`);
}

function splitKeyString(text: string, parts: number, what: string): string[] {
  const fields: string[] = [];
  let rest = text;
  for (let i = 0; i < parts - 1; i++) {
    const at = rest.indexOf("+");
    if (at < 0) break;
    fields.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  fields.push(rest);
  if (fields.length !== parts) throw new KeyFormatError(`${what} must have ${parts} '+'-separated fields`);
  return fields;
}

function decodeKeyMaterial(name: string, hex8: string, b64: string, what: string): [number, Uint8Array] {
  checkKeyName(name);
  if (!HEX8.test(hex8)) throw new KeyFormatError(`${what} key ID must be 8 lowercase hex digits`);
  let raw: Uint8Array;
  try {
    raw = b64decode(b64);
  } catch (cause) {
    throw new KeyFormatError(`${what} key material is not canonical base64`, { cause });
  }
  if (raw.length !== 33) throw new KeyFormatError(`${what} key material must be 1 + 32 bytes, got ${raw.length}`);
  if (!ALGORITHMS.includes(raw[0]!)) throw new KeyFormatError(`${what} signature type 0x${raw[0]!.toString(16)} is not supported`);
  return [raw[0]!, raw.slice(1)];
}

/** One signature line of a note (spec §5.1); `timestamp` is set on a verified cosignature. */
export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  /** The bytes after the key ID (a cosignature starts with its 8-byte timestamp). */
  signature: Uint8Array;
  timestamp?: number | undefined;
}

/** The text of a signature line, without its final newline. */
export function signatureLine(sig: NoteSignature): string {
  return `${SIG_PREFIX}${sig.name} ${b64encode(concatBytes(sig.keyId, sig.signature))}`;
}

/** An opened note: its text, verified signatures and signatures from unknown keys (spec §5.4). */
export interface Note {
  text: string;
  signatures: NoteSignature[];
  unverified: NoteSignature[];
}

/** A public key that verifies note signatures of one type under one name (spec §5.3). */
export class NoteVerifier {
  readonly keyId: Uint8Array;
  private readonly key: PublicKey;

  constructor(
    readonly name: string,
    readonly publicKey: Uint8Array,
    readonly alg: number = ALG_ED25519,
  ) {
    if (!ALGORITHMS.includes(alg)) throw new KeyFormatError(`signature type 0x${alg.toString(16)} is not supported`);
    if (publicKey.length !== 32) throw new KeyFormatError(`Ed25519 public key must be 32 bytes, got ${publicKey.length}`);
    this.keyId = keyId(name, alg, publicKey);
    this.key = PublicKey.fromBytes(publicKey);
  }

  /** Parse `<name>+<hex8 key ID>+<base64(type || public key)>` strictly (spec §5.3). */
  static fromVkey(vkey: string): NoteVerifier {
    const [name, hex8, b64] = splitKeyString(vkey, 3, "verifier key") as [string, string, string];
    const [alg, publicKey] = decodeKeyMaterial(name, hex8, b64, "verifier key");
    const verifier = new NoteVerifier(name, publicKey, alg);
    if (bytesToHex(verifier.keyId) !== hex8) throw new KeyFormatError(`verifier key ID ${hex8} does not match the key`);
    return verifier;
  }

  /** The verifier key string (spec §5.3). */
  get vkey(): string {
    return `${this.name}+${bytesToHex(this.keyId)}+${b64encode(concatBytes(new Uint8Array([this.alg]), this.publicKey))}`;
  }

  /**
   * Verify `signature` (the bytes after the key ID) over the note `text`; returns the
   * cosignature timestamp for `cosignature/v1` keys. Throws {@link SignatureError}.
   */
  verify(text: string, signature: Uint8Array): number | undefined {
    let message: Uint8Array;
    let timestamp: number | undefined;
    let sig = signature;
    if (this.alg === ALG_COSIGNATURE_V1) {
      if (signature.length !== 72) throw new SignatureError(`${this.name}: cosignature must be 72 bytes`);
      const t = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0, false);
      message = cosignatureMessage(text, t);
      timestamp = Number(t);
      sig = signature.subarray(8);
    } else {
      if (signature.length !== 64) throw new SignatureError(`${this.name}: Ed25519 signature must be 64 bytes`);
      message = encoder.encode(text);
    }
    try {
      this.key.verify(sig, message);
    } catch (cause) {
      throw new SignatureError(`invalid signature for key ${this.name}+${bytesToHex(this.keyId)}`, { cause });
    }
    return timestamp;
  }

  /** True if both have the same name, type and key. */
  equals(other: NoteVerifier): boolean {
    return this.name === other.name && this.alg === other.alg && bytesEqual(this.publicKey, other.publicKey);
  }
}

/** A private key that signs notes under one key name (spec §5.3). */
export class NoteSigner {
  readonly verifier: NoteVerifier;
  private readonly key: PrivateKey;

  constructor(name: string, seed: Uint8Array, alg: number = ALG_ED25519) {
    if (seed.length !== 32) throw new KeyFormatError(`Ed25519 seed must be 32 bytes, got ${seed.length}`);
    this.key = PrivateKey.fromSeed(seed);
    this.verifier = new NoteVerifier(name, this.key.publicKey.raw, alg);
  }

  /** Parse `PRIVATE+KEY+<name>+<hex8>+<base64(type || seed)>` strictly (spec §5.3). */
  static fromSkey(skey: string): NoteSigner {
    const [priv, key, name, hex8, b64] = splitKeyString(skey, 5, "signer key") as [string, string, string, string, string];
    if (priv !== "PRIVATE" || key !== "KEY") throw new KeyFormatError("signer key must start with PRIVATE+KEY+");
    const [alg, seed] = decodeKeyMaterial(name, hex8, b64, "signer key");
    const signer = new NoteSigner(name, seed, alg);
    if (bytesToHex(signer.keyId) !== hex8) throw new KeyFormatError(`signer key ID ${hex8} does not match the key`);
    return signer;
  }

  get name(): string {
    return this.verifier.name;
  }
  get alg(): number {
    return this.verifier.alg;
  }
  get keyId(): Uint8Array {
    return this.verifier.keyId;
  }
  /** The signer key string (spec §5.3). Keep it secret. */
  get skey(): string {
    return `PRIVATE+KEY+${this.name}+${bytesToHex(this.keyId)}+${b64encode(concatBytes(new Uint8Array([this.alg]), this.key.seed))}`;
  }

  /** Sign a note text; `timestamp` is required for, and only for, cosignature keys. */
  sign(text: string, timestamp?: number): NoteSignature {
    checkText(text);
    let signature: Uint8Array;
    if (this.alg === ALG_COSIGNATURE_V1) {
      if (timestamp === undefined) throw new NoteError(`${this.name}: a cosignature/v1 signature needs a timestamp`);
      const t = new Uint8Array(8);
      new DataView(t.buffer).setBigUint64(0, BigInt(timestamp), false);
      signature = concatBytes(t, this.key.sign(cosignatureMessage(text, timestamp)));
    } else {
      if (timestamp !== undefined) throw new NoteError(`${this.name}: an Ed25519 note signature takes no timestamp`);
      signature = this.key.sign(encoder.encode(text));
    }
    return { name: this.name, keyId: this.keyId, signature, timestamp };
  }
}

function checkCharacters(text: string): void {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && code !== 0x0a) throw new NoteError(`note contains control character U+${code.toString(16).padStart(4, "0")}`);
  }
}

function checkText(text: string): void {
  if (!text.endsWith("\n")) throw new NoteError("note text must end with a newline");
  if (!isWellFormed(text)) throw new NoteError("note is not valid UTF-8 (lone surrogate)");
  checkCharacters(text);
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw new NoteError(`signature line does not start with an em dash and space: ${JSON.stringify(line)}`);
  const body = line.slice(SIG_PREFIX.length);
  const space = body.indexOf(" ");
  const name = space < 0 ? body : body.slice(0, space);
  const b64 = space < 0 ? "" : body.slice(space + 1);
  let raw: Uint8Array;
  try {
    checkKeyName(name);
    raw = b64decode(b64);
  } catch (cause) {
    if (cause instanceof KeyFormatError || cause instanceof EncodingError) {
      throw new NoteError(`malformed signature line: ${JSON.stringify(line)}`, { cause });
    }
    throw cause;
  }
  if (raw.length <= 4) throw new NoteError(`signature line has no signature after the key ID`);
  return { name, keyId: raw.slice(0, 4), signature: raw.slice(4) };
}

/** Parse a block of signature lines, each ending in a newline (spec §5.1). */
export function parseSignatureLines(lines: string): NoteSignature[] {
  if (!lines.endsWith("\n")) throw new NoteError("signature lines must end with a newline");
  checkCharacters(lines);
  const parts = lines.slice(0, -1).split("\n");
  if (parts.length > MAX_SIGNATURES) throw new NoteError(`note has more than ${MAX_SIGNATURES} signatures`);
  return parts.map(parseSignatureLine);
}

/**
 * Split a signed note into its text and signature lines, verifying nothing (spec §5.1). Throws
 * {@link NoteError} if it is too large, not UTF-8, has control characters, no blank line, or a
 * malformed signature line.
 */
export function parseNote(data: Uint8Array): { text: string; signatures: NoteSignature[] } {
  if (data.length > MAX_NOTE_BYTES) throw new NoteError(`note is larger than ${MAX_NOTE_BYTES} bytes`);
  let message: string;
  try {
    message = fromUtf8(data);
  } catch (cause) {
    throw new NoteError("note is not valid UTF-8", { cause });
  }
  checkCharacters(message);
  const split = message.lastIndexOf("\n\n");
  if (split < 0) throw new NoteError("note has no blank line before its signatures");
  return { text: message.slice(0, split + 1), signatures: parseSignatureLines(message.slice(split + 2)) };
}

const slotOf = (name: string, id: Uint8Array): string => `${name}\u0000${bytesToHex(id)}`;

function indexVerifiers(verifiers: Iterable<NoteVerifier>): Map<string, NoteVerifier> {
  const known = new Map<string, NoteVerifier>();
  for (const verifier of verifiers) {
    const slot = slotOf(verifier.name, verifier.keyId);
    const existing = known.get(slot);
    if (existing === undefined) known.set(slot, verifier);
    else if (!existing.equals(verifier)) {
      throw new KeyFormatError(`ambiguous verifiers: two keys named ${verifier.name} with key ID ${bytesToHex(verifier.keyId)}`);
    }
  }
  return known;
}

/**
 * Parse a signed note and verify every signature by a known key (spec §5.4). Throws
 * {@link NoteError} (malformed), {@link KeyFormatError} (ambiguous verifiers),
 * {@link UnverifiedNoteError} (a known signature fails, or none is present).
 */
export function openNote(data: Uint8Array, verifiers: Iterable<NoteVerifier>): Note {
  const { text, signatures } = parseNote(data);
  const known = indexVerifiers(verifiers);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of signatures) {
    const line = signatureLine(sig);
    if (seen.has(line)) continue;
    seen.add(line);
    const verifier = known.get(slotOf(sig.name, sig.keyId));
    if (verifier === undefined) {
      unverified.push(sig);
      continue;
    }
    let timestamp: number | undefined;
    try {
      timestamp = verifier.verify(text, sig.signature);
    } catch (cause) {
      throw new UnverifiedNoteError(`signature from known key ${sig.name}+${bytesToHex(sig.keyId)} does not verify`, { cause });
    }
    verified.push({ ...sig, timestamp });
  }
  if (!verified.length) throw new UnverifiedNoteError("note has no verifiable signature from a known key");
  return { text, signatures: verified, unverified };
}

function encodeNote(text: string, signatures: NoteSignature[]): Uint8Array {
  if (!signatures.length) throw new NoteError("a signed note needs at least one signature");
  if (signatures.length > MAX_SIGNATURES) throw new NoteError(`a note carries at most ${MAX_SIGNATURES} signatures`);
  const data = encoder.encode(`${text}\n${signatures.map((s) => signatureLine(s) + "\n").join("")}`);
  if (data.length > MAX_NOTE_BYTES) throw new NoteError(`signed note would be larger than ${MAX_NOTE_BYTES} bytes`);
  return data;
}

/** Sign a note text with each signer, in order (spec §5.1); `timestamp` for cosigners. */
export function signNote(text: string, signers: readonly NoteSigner[], timestamp?: number): Uint8Array {
  checkText(text);
  const slots = signers.map((s) => slotOf(s.name, s.keyId));
  if (new Set(slots).size !== slots.length) throw new NoteError("two signers share a key name and key ID");
  return encodeNote(
    text,
    signers.map((s) => s.sign(text, s.alg === ALG_COSIGNATURE_V1 ? timestamp : undefined)),
  );
}

/** Add signature lines to a note; a new line replaces one with the same name and key ID. */
export function appendSignatureLines(data: Uint8Array, lines: readonly NoteSignature[]): Uint8Array {
  const { text, signatures } = parseNote(data);
  const replaced = new Set(lines.map((s) => slotOf(s.name, s.keyId)));
  const kept = signatures.filter((s) => !replaced.has(slotOf(s.name, s.keyId)));
  const unique = new Map<string, NoteSignature>();
  for (const s of lines) unique.set(slotOf(s.name, s.keyId), s);
  return encodeNote(text, [...kept, ...unique.values()]);
}
