/**
 * Signed records: the declaration, its works, limits, signing and record ids (spec §2), and the
 * trust records of spec §9.3. Mirrors `registry/core/records.py`.
 *
 * A record is a plain object of the JSON model whose optional members are absent (`undefined`)
 * when they have their default value. {@link encodeRecord} gives its log entry (canonical JSON
 * with the signature), {@link recordId} the SHA-256 of an entry. {@link decodeRecord} follows the
 * steps of spec §2.7 in order, so it reports the same error class as the reference for every
 * rejected entry; {@link loadRecord} also verifies the signature (spec §2.8).
 *
 * Trust records ({@link Binding}, {@link PlatformAttestation}, {@link Rotation},
 * {@link Revocation}, {@link CounterStatement}) share the encoding, decoding and signature rules,
 * signed by the key {@link signerOf} names. {@link decodeEntry} and {@link loadEntry} read an
 * entry of any kind; {@link decodeRecord} and {@link loadRecord} keep reading declarations only,
 * as the reference's do, so that a reader not implementing spec §9 refuses trust records as
 * unknown types (spec §0.3).
 */
import { base32 } from "@scure/base";
import {
  MAX_SAFE_INTEGER,
  b64decode,
  b64encode,
  bytesEqual,
  bytesToHex,
  canonicalJson,
  concatBytes,
  hexToBytes,
  parseJson,
  type JSONValue,
} from "./encoding.js";
import {
  EncodingError,
  FutureRecordError,
  LimitError,
  NonCanonicalError,
  RecordError,
  SignatureError,
} from "./errors.js";
import { sha256Hex } from "./hash.js";
import { PrivateKey, PublicKey, SIGNATURE_SIZE } from "./keys.js";
import { MAX_CATEGORY_LENGTH, validatePrefs, type Prefs } from "./prefs.js";
import { MAX_URL_LENGTH, normalizeUrl } from "./urls.js";

// spec §2.6: limits
export const RECORD_VERSION = 1;
export const MAX_ENTRY_BYTES = 65535;
export const MAX_WORKS = 1000;
export const MAX_URLS_PER_WORK = 16;
/** PDQ hashes of crops a work may carry in `pdq_variants` (spec §2.6). */
export const MAX_PDQ_VARIANTS = 16;
export const MAX_SUPERSEDES = 1000;
export const MAX_PREFS = 32;
export const MAX_PREF_KEY_LENGTH = MAX_CATEGORY_LENGTH;
export const MAX_ISCC_LENGTH = 128;
export const MAX_MEDIA_TYPE_PART = 127;
export const MAX_ISSUED_AT = MAX_SAFE_INTEGER;
export { MAX_URL_LENGTH };

/** One work a declaration is about (spec §2.4). */
export interface Work {
  /** Lowercase hex SHA-256 of the work's bytes. */
  sha256: string;
  /** Lowercase hex 256-bit PDQ hash of an image. */
  pdq?: string | undefined;
  /** PDQ quality 0..100; present if and only if `pdq` is. */
  pdq_quality?: number | undefined;
  /** PDQ hashes of crops of the image (spec §2.4), sorted, unique; absent when empty. */
  pdq_variants?: string[] | undefined;
  /** An ISCC code: `ISCC:` and canonical RFC 4648 base32. */
  iscc?: string | undefined;
  /** Normalised (spec §2.5) http(s) URLs, sorted, unique; absent when empty. */
  urls?: string[] | undefined;
  /** RFC 6838 `type/subtype`, lowercase, no parameters. */
  media_type?: string | undefined;
}

/** A creator's signed statement of preferences about some works (spec §2.3). */
export interface Declaration {
  type: "declaration";
  v: number;
  /** The creator's Ed25519 `did:key` (spec §1.5), the signing key. */
  creator: string;
  /** Unix time in seconds, 0..2^53-1. */
  issued_at: number;
  /** 1..MAX_WORKS works sorted by `sha256`, unique. */
  works: Work[];
  /** AIPREF category -> "y" | "n"; empty exactly when `withdraw`. */
  prefs: Prefs;
  /** Record ids of earlier declarations this one replaces; absent when empty. */
  supersedes?: string[] | undefined;
  /** A withdrawal; absent when false. */
  withdraw?: boolean | undefined;
  /** Base64 Ed25519 signature over the signing input; absent while unsigned. */
  sig?: string | undefined;
}

/** The record types {@link decodeRecord} knows by their `type` tag: the declaration (spec §2.2). */
export const RECORD_TYPES: readonly string[] = ["declaration"];

// --- trust records (spec §9.3) --------------------------------------------------------------------

/** A node's signed statement that a domain named (or, lapsed, no longer named) a key (spec §9.3.1). */
export interface Binding {
  type: "binding";
  v: number;
  /** The checking node's Ed25519 `did:key`: the signing key. */
  node: string;
  /** The checking node's log origin (spec §5.5), 1..255 printable ASCII without space, `"`, `\`. */
  origin: string;
  /** The domain checked: a lowercase DNS name, no port, no trailing dot, not an IPv4 address. */
  domain: string;
  /** The `did:key` the domain's document named. */
  creator: string;
  /** When the node checked, Unix seconds. */
  issued_at: number;
  /** Lowercase hex SHA-256 of the document bytes the node fetched. */
  evidence: string;
  /** The re-check found the key no longer named; absent when false. */
  lapsed?: boolean | undefined;
  sig?: string | undefined;
}

/** A platform says an account is a key and uploaded these works by `issued_at` (spec §9.3.2). */
export interface PlatformAttestation {
  type: "platform-attestation";
  v: number;
  /** The platform's Ed25519 `did:key`: the signing key. */
  platform: string;
  /** The account handle, 1..128 printable ASCII without space, `"`, `\`. */
  account: string;
  /** The `did:key` the account holder registered with the platform. */
  creator: string;
  issued_at: number;
  /** Packed SHA-256 digests ({@link packHashes}); absent when empty. */
  hashes?: string | undefined;
  /** Works as in a declaration (spec §2.4), sorted by `sha256`; absent when empty. */
  works?: Work[] | undefined;
  sig?: string | undefined;
}

/** A creator's old key names its new key (spec §9.3.3). */
export interface Rotation {
  type: "rotation";
  v: number;
  /** The old key: the signing key. */
  creator: string;
  /** The new key's `did:key`, different from `creator`. */
  new_key: string;
  issued_at: number;
  sig?: string | undefined;
}

/** A key is compromised since a time (spec §9.3.4). */
export interface Revocation {
  type: "revocation";
  v: number;
  /** The signing key: the revoked key itself, or a platform that attested it (spec §9.4.1). */
  creator: string;
  /** The revoked key. */
  key: string;
  /** What `key` signed at or after `since` no longer counts; `since <= issued_at`. */
  since: number;
  issued_at: number;
  sig?: string | undefined;
}

/** A creator's signed statement about another's declaration (spec §9.3.5). */
export interface CounterStatement {
  type: "counter-statement";
  v: number;
  /** The signing key. */
  creator: string;
  /** The record id (spec §2.9) of the declaration the statement is about. */
  target: string;
  /** One of {@link STATEMENTS}. */
  statement: string;
  issued_at: number;
  sig?: string | undefined;
}

/** The trust record kinds (spec §9.3). */
export type TrustRecord = Binding | PlatformAttestation | Rotation | Revocation | CounterStatement;
/** Every record kind a log entry can hold (spec §2.2, §9.3). */
export type AnyRecord = Declaration | TrustRecord;
/** Every record kind {@link decodeEntry} knows, by its `type` tag (spec §2.2, §9.3). */
export const ENTRY_TYPES: readonly AnyRecord["type"][] = [
  "declaration",
  "binding",
  "platform-attestation",
  "rotation",
  "revocation",
  "counter-statement",
];

// spec §9.3: limits and formats of the trust records
/** Packed digests per attestation; the entry limit binds first, at 1528 (spec §9.3.2). */
export const MAX_ATTESTED_HASHES = 2048;
export const MAX_ACCOUNT_LENGTH = 128;
export const MAX_ORIGIN_LENGTH = 255;
export const MAX_DOMAIN_LENGTH = 253;
/** Counter-statement kinds of version 1 (spec §9.3.5). */
export const STATEMENTS: readonly string[] = ["not-rightsholder"];
// printable ASCII except space, '"' and '\': such strings never need a JSON escape (spec §9.3)
const TOKEN = String.raw`[!#-\[\]-~]`;
const ACCOUNT = new RegExp(`^${TOKEN}{1,${MAX_ACCOUNT_LENGTH}}$`);
const ORIGIN = new RegExp(`^${TOKEN}{1,${MAX_ORIGIN_LENGTH}}$`);
const LABEL = String.raw`[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?`;
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const ALL_DIGITS = /^[0-9.]+$/;
const DIGEST_SIZE = 32;

const HEX64 = /^[0-9a-f]{64}$/;
const ISCC = new RegExp(`^ISCC:[A-Z2-7]{16,${MAX_ISCC_LENGTH - 5}}$`);
const MEDIA_NAME = `[a-z0-9][a-z0-9!#$&^_.+\\-]{0,${MAX_MEDIA_TYPE_PART - 1}}`;
const MEDIA_TYPE = new RegExp(`^${MEDIA_NAME}/${MEDIA_NAME}$`);
const SIG_PLACEHOLDER = b64encode(new Uint8Array(SIGNATURE_SIZE));

// --- validation (spec §2.3, §2.4, §2.6) -----------------------------------------------------------

function checkSortedUnique(items: readonly string[], what: string): void {
  for (let i = 1; i < items.length; i++) {
    if (!(items[i - 1]! < items[i]!)) throw new RecordError(`${what} must be sorted and unique (spec §2.3)`);
  }
}

function validateIscc(code: string, where: string): void {
  if (!ISCC.test(code)) throw new RecordError(`${where}.iscc is not 'ISCC:' and base32 (spec §2.4)`);
  const body = code.slice(5);
  let data: Uint8Array;
  try {
    data = base32.decode(body + "=".repeat((8 - (body.length % 8)) % 8));
  } catch (cause) {
    throw new RecordError(`${where}.iscc is not valid base32 (spec §2.4)`, { cause });
  }
  if (base32.encode(data).replace(/=+$/, "") !== body) {
    throw new RecordError(`${where}.iscc is not canonical base32 (spec §2.4)`);
  }
}

function validatePdqVariants(work: Work, where: string): void {
  const variants = work.pdq_variants ?? [];
  if (!variants.length) return;
  if (work.pdq === undefined) throw new RecordError(`${where}.pdq_variants without pdq (spec §2.4)`);
  if (variants.length > MAX_PDQ_VARIANTS) {
    throw new LimitError(`${where} has more than ${MAX_PDQ_VARIANTS} pdq_variants (spec §2.6)`);
  }
  for (const variant of variants) {
    if (!HEX64.test(variant)) throw new RecordError(`${where}.pdq_variants holds a non-hash (spec §2.4)`);
    if (variant === work.pdq) throw new RecordError(`${where}.pdq_variants repeats pdq (spec §2.4)`);
  }
  checkSortedUnique(variants, `${where}.pdq_variants`);
}

function validateWork(work: Work, index: number): void {
  const where = `works[${index}]`;
  if (!HEX64.test(work.sha256)) throw new RecordError(`${where}.sha256 is not 64 lowercase hex digits (spec §2.4)`);
  if (work.pdq === undefined) {
    if (work.pdq_quality !== undefined) throw new RecordError(`${where}.pdq_quality without pdq (spec §2.4)`);
  } else {
    if (!HEX64.test(work.pdq)) throw new RecordError(`${where}.pdq is not 64 lowercase hex digits (spec §2.4)`);
    if (work.pdq_quality === undefined || !(work.pdq_quality >= 0 && work.pdq_quality <= 100)) {
      throw new RecordError(`${where}.pdq_quality must be 0..100 with pdq (spec §2.4)`);
    }
  }
  validatePdqVariants(work, where);
  if (work.iscc !== undefined) validateIscc(work.iscc, where);
  const urls = work.urls ?? [];
  if (urls.length > MAX_URLS_PER_WORK) throw new LimitError(`${where} has more than ${MAX_URLS_PER_WORK} urls (spec §2.6)`);
  for (const url of urls) {
    if (normalizeUrl(url) !== url) {
      throw new RecordError(`${where}.urls: ${JSON.stringify(url.slice(0, 80))} is not normalised (spec §2.5)`);
    }
  }
  checkSortedUnique(urls, `${where}.urls`);
  if (work.media_type !== undefined && !MEDIA_TYPE.test(work.media_type)) {
    throw new RecordError(`${where}.media_type is not a lowercase type/subtype (spec §2.4)`);
  }
}

function validateSignatureFormat(sig: string | undefined): Uint8Array {
  if (!sig) throw new SignatureError("record is not signed (spec §2.8)");
  let raw: Uint8Array;
  try {
    raw = b64decode(sig);
  } catch (cause) {
    if (cause instanceof EncodingError) throw new SignatureError(`sig is not canonical base64: ${cause.message}`, { cause });
    throw cause;
  }
  if (raw.length !== SIGNATURE_SIZE) throw new SignatureError(`sig must encode 64 bytes, got ${raw.length} (spec §2.8)`);
  return raw;
}

function validateTime(value: number, name: string): void {
  if (!(Number.isInteger(value) && value >= 0 && value <= MAX_ISSUED_AT)) {
    throw new RecordError(`${name} must be 0..2**53-1 (spec §2.3)`);
  }
}

function validateDeclaration(record: Declaration): void {
  PublicKey.fromDid(record.creator);
  validateTime(record.issued_at, "issued_at");
  if (record.works.length === 0) throw new RecordError("a declaration needs at least one work (spec §2.3)");
  if (record.works.length > MAX_WORKS) throw new LimitError(`more than ${MAX_WORKS} works (spec §2.6)`);
  record.works.forEach(validateWork);
  checkSortedUnique(
    record.works.map((w) => w.sha256),
    "works (by sha256)",
  );
  if (Object.keys(record.prefs).length > MAX_PREFS) throw new LimitError(`more than ${MAX_PREFS} preferences (spec §2.6)`);
  validatePrefs(record.prefs);
  const hasPrefs = Object.keys(record.prefs).length > 0;
  if (record.withdraw && hasPrefs) throw new RecordError("a withdrawal must have empty prefs (spec §2.3)");
  if (!record.withdraw && !hasPrefs) throw new RecordError("a declaration needs at least one preference (spec §2.3)");
  const supersedes = record.supersedes ?? [];
  if (supersedes.length > MAX_SUPERSEDES) throw new LimitError(`more than ${MAX_SUPERSEDES} superseded ids (spec §2.6)`);
  for (const id of supersedes) {
    if (!HEX64.test(id)) throw new RecordError("supersedes holds a non-id: 64 lowercase hex digits (spec §2.3)");
  }
  checkSortedUnique(supersedes, "supersedes");
}

function validateHex64(value: string, name: string): void {
  if (!HEX64.test(value)) throw new RecordError(`${name} is not 64 lowercase hex digits (spec §9.3)`);
}

function validateDomain(domain: string): void {
  // spec §9.3.1: a DNS name as §2.5 writes a URL host, without a port, a trailing dot or an
  // IPv4 address
  if (domain.length > MAX_DOMAIN_LENGTH || !DOMAIN.test(domain) || ALL_DIGITS.test(domain)) {
    throw new RecordError(`domain ${JSON.stringify(domain.slice(0, 80))} is not a lowercase DNS name (spec §9.3.1)`);
  }
}

/**
 * The SHA-256 digests packed in an attestation's `hashes`, as lowercase hex, in their packed order
 * (spec §9.3.2). Throws {@link RecordError} if `hashes` is not canonical base64 of whole digests.
 */
export function attestedHashes(record: PlatformAttestation): string[] {
  let raw: Uint8Array = new Uint8Array(0);
  if (record.hashes) {
    try {
      raw = b64decode(record.hashes);
    } catch (cause) {
      if (cause instanceof EncodingError) {
        throw new RecordError(`hashes is not canonical base64: ${cause.message} (spec §9.3.2)`, { cause });
      }
      throw cause;
    }
  }
  if (raw.length % DIGEST_SIZE) throw new RecordError("hashes must pack whole 32-byte digests (spec §9.3.2)");
  const out: string[] = [];
  for (let at = 0; at < raw.length; at += DIGEST_SIZE) out.push(bytesToHex(raw.subarray(at, at + DIGEST_SIZE)));
  return out;
}

/**
 * Pack lowercase hex SHA-256 digests for {@link PlatformAttestation.hashes}: sorted, duplicates
 * dropped (spec §9.3.2). Throws {@link RecordError} if one is not 64 lowercase hex digits.
 */
export function packHashes(digests: Iterable<string>): string {
  const unique = [...new Set(digests)].sort();
  for (const digest of unique) validateHex64(digest, "a packed hash");
  return b64encode(concatBytes(...unique.map((digest) => hexToBytes(digest))));
}

function validateAttestation(record: PlatformAttestation): void {
  if (!ACCOUNT.test(record.account)) {
    throw new RecordError(
      `account must be 1..${MAX_ACCOUNT_LENGTH} printable ASCII characters without space, '"' or '\\' (spec §9.3.2)`,
    );
  }
  PublicKey.fromDid(record.creator);
  validateTime(record.issued_at, "issued_at");
  const hashes = attestedHashes(record);
  if (hashes.length > MAX_ATTESTED_HASHES) throw new LimitError(`more than ${MAX_ATTESTED_HASHES} packed hashes (spec §9.3.2)`);
  checkSortedUnique(hashes, "hashes");
  const works = record.works ?? [];
  if (works.length > MAX_WORKS) throw new LimitError(`more than ${MAX_WORKS} works (spec §9.3.2)`);
  works.forEach(validateWork);
  const listed = works.map((w) => w.sha256);
  checkSortedUnique(listed, "works (by sha256)");
  const packed = new Set(hashes);
  if (listed.some((digest) => packed.has(digest))) {
    throw new RecordError("a work is both in hashes and in works (spec §9.3.2)");
  }
}

/** The field rules of the trust record kinds (spec §9.3), in the order of their tables. */
function validateTrust(record: TrustRecord): void {
  PublicKey.fromDid(signerOf(record)); // the signing key comes first in every table
  switch (record.type) {
    case "binding":
      if (!ORIGIN.test(record.origin)) {
        throw new RecordError(`origin must be 1..${MAX_ORIGIN_LENGTH} printable ASCII characters (spec §9.3.1)`);
      }
      validateDomain(record.domain);
      PublicKey.fromDid(record.creator);
      validateTime(record.issued_at, "issued_at");
      validateHex64(record.evidence, "evidence");
      return;
    case "platform-attestation":
      validateAttestation(record);
      return;
    case "rotation":
      PublicKey.fromDid(record.new_key);
      if (record.new_key === record.creator) throw new RecordError("a rotation must name a different key (spec §9.3.3)");
      validateTime(record.issued_at, "issued_at");
      return;
    case "revocation":
      PublicKey.fromDid(record.key);
      validateTime(record.since, "since");
      validateTime(record.issued_at, "issued_at");
      if (record.since > record.issued_at) {
        throw new RecordError("a revocation's since must not be after its issued_at (spec §9.3.4)");
      }
      return;
    case "counter-statement":
      validateHex64(record.target, "target");
      if (!STATEMENTS.includes(record.statement)) {
        throw new RecordError(`unknown statement ${JSON.stringify(record.statement.slice(0, 40))} (spec §9.3.5)`);
      }
      validateTime(record.issued_at, "issued_at");
      return;
  }
}

/** The `did:key` whose signature a record carries (spec §2.8, §9.3). */
export function signerOf(record: AnyRecord): string {
  switch (record.type) {
    case "binding":
      return record.node;
    case "platform-attestation":
      return record.platform;
    default:
      return record.creator;
  }
}

/**
 * Check every schema rule and limit of spec §2.3-§2.6 (a declaration) or §9.3 (a trust record)
 * except the entry size and the signature, in the order of spec §2.7 step 5. With `signed` (the
 * default) `sig` must be well-formed (not verified). Throws {@link RecordError}/{@link LimitError},
 * `PreferenceError`, `KeyFormatError` (a `did:key` member), {@link SignatureError} (malformed `sig`).
 */
export function validateRecord(record: AnyRecord, options: { signed?: boolean } = {}): void {
  const signed = options.signed ?? true;
  if (record.v !== RECORD_VERSION) throw new RecordError(`unsupported record version ${record.v} (spec §2.2)`);
  if (record.type === "declaration") validateDeclaration(record);
  else if (ENTRY_TYPES.includes(record.type)) validateTrust(record);
  else throw new RecordError(`unknown record type ${JSON.stringify((record as { type: unknown }).type)} (spec §2.2)`);
  if (signed) validateSignatureFormat(record.sig);
}

// --- encoding, signing (spec §2.8, §2.9) -----------------------------------------------------------

function plainWork(work: Work): Record<string, JSONValue | undefined> {
  return {
    sha256: work.sha256,
    pdq: work.pdq,
    pdq_quality: work.pdq_quality,
    pdq_variants: work.pdq_variants && work.pdq_variants.length ? work.pdq_variants : undefined,
    iscc: work.iscc,
    urls: work.urls && work.urls.length ? work.urls : undefined,
    media_type: work.media_type,
  };
}

const nonEmpty = <T>(items: readonly T[] | undefined): readonly T[] | undefined => (items && items.length ? items : undefined);

/** The record as a JSON object with default-valued members omitted (spec §2.3, §9.3). */
function plain(record: AnyRecord, sig: string | undefined): Record<string, unknown> {
  const common = { type: record.type, v: record.v, sig: sig ? sig : undefined };
  switch (record.type) {
    case "declaration":
      return {
        ...common,
        creator: record.creator,
        issued_at: record.issued_at,
        works: record.works.map(plainWork),
        prefs: record.prefs,
        supersedes: nonEmpty(record.supersedes),
        withdraw: record.withdraw ? true : undefined,
      };
    case "binding":
      return {
        ...common,
        node: record.node,
        origin: record.origin,
        domain: record.domain,
        creator: record.creator,
        issued_at: record.issued_at,
        evidence: record.evidence,
        lapsed: record.lapsed ? true : undefined,
      };
    case "platform-attestation":
      return {
        ...common,
        platform: record.platform,
        account: record.account,
        creator: record.creator,
        issued_at: record.issued_at,
        hashes: record.hashes ? record.hashes : undefined,
        works: nonEmpty(record.works)?.map(plainWork),
      };
    case "rotation":
      return { ...common, creator: record.creator, new_key: record.new_key, issued_at: record.issued_at };
    case "revocation":
      return { ...common, creator: record.creator, key: record.key, since: record.since, issued_at: record.issued_at };
    case "counter-statement":
      return { ...common, creator: record.creator, target: record.target, statement: record.statement, issued_at: record.issued_at };
  }
}

function encode(record: AnyRecord, sig: string | undefined): Uint8Array {
  return canonicalJson(plain(record, sig));
}

/**
 * The bytes a record's signature covers: its canonical JSON without `sig` and with defaults
 * omitted (spec §2.8). Throws as {@link validateRecord} with `signed: false`.
 */
export function signingInput(record: AnyRecord): Uint8Array {
  validateRecord(record, { signed: false });
  return encode(record, undefined);
}

function checkSize(entry: Uint8Array): void {
  if (entry.length > MAX_ENTRY_BYTES) {
    throw new LimitError(`entry is ${entry.length} bytes, more than ${MAX_ENTRY_BYTES} (spec §2.6)`);
  }
}

/**
 * The canonical bytes of a signed record: its log entry (spec §2.8). Throws as
 * {@link validateRecord} and {@link LimitError} above {@link MAX_ENTRY_BYTES}.
 */
export function encodeRecord(record: AnyRecord): Uint8Array {
  validateRecord(record, { signed: true });
  const entry = encode(record, record.sig);
  checkSize(entry);
  return entry;
}

/**
 * How many bytes the record's entry has, or will have once signed (the signature has a fixed
 * size): used to pack works into declarations of at most {@link MAX_ENTRY_BYTES} (spec §2.10).
 * Does not validate.
 */
export function entrySize(record: AnyRecord): number {
  return encode(record, SIG_PLACEHOLDER).length;
}

/** Seconds a record's `issued_at` may be ahead of a receiver's clock (spec §2.11). */
export const DEFAULT_CLOCK_SKEW = 600;

/**
 * Refuse a record dated beyond `now + skew` (spec §2.11): {@link FutureRecordError}. `now` is the
 * receiver's clock in Unix seconds, passed in (no function here reads a clock).
 */
export function checkIssuedAt(record: AnyRecord, now: number, skew: number = DEFAULT_CLOCK_SKEW): void {
  if (record.issued_at > now + skew) {
    throw new FutureRecordError(
      `issued_at ${record.issued_at} is ${record.issued_at - now} s ahead of this receiver's clock; at most ${skew} s is allowed (spec §2.11)`,
    );
  }
}

/**
 * `record` signed by `key` (spec §2.8). Throws {@link RecordError} if `record.creator` is not the
 * key's `did:key`, as {@link validateRecord} for an invalid record, and {@link LimitError} if the
 * entry would exceed {@link MAX_ENTRY_BYTES}.
 */
export function signDeclaration(record: Declaration, key: PrivateKey): Declaration {
  if (record.creator !== key.publicKey.did) {
    throw new RecordError("creator is not the did:key of the signing key (spec §2.8)");
  }
  validateRecord(record, { signed: false });
  const signature = key.sign(encode(record, undefined));
  const signed: Declaration = { ...record, sig: b64encode(signature) };
  checkSize(encode(signed, signed.sig));
  return signed;
}

/**
 * A trust record (spec §9.3) signed by `key` (spec §2.8). Throws {@link RecordError} if `key` is
 * not the record's signer ({@link signerOf}: the node of a binding, the platform of an
 * attestation, else the creator), as {@link validateRecord} for an invalid record, and
 * {@link LimitError} if the entry would exceed {@link MAX_ENTRY_BYTES}.
 */
export function signRecord<T extends TrustRecord>(record: T, key: PrivateKey): T {
  if (signerOf(record) !== key.publicKey.did) {
    throw new RecordError("the record's signer is not the did:key of the signing key (spec §2.8)");
  }
  validateRecord(record, { signed: false });
  const signed: T = { ...record, sig: b64encode(key.sign(encode(record, undefined))) };
  checkSize(encode(signed, signed.sig));
  return signed;
}

function verifySignature(record: AnyRecord): void {
  const signature = validateSignatureFormat(record.sig);
  PublicKey.fromDid(signerOf(record)).verify(signature, encode(record, undefined));
}

/**
 * Check a record's signature by its signer, {@link signerOf} (spec §2.8, §9.3). Throws as {@link validateRecord} for a
 * malformed record and {@link SignatureError} if the signature does not verify.
 */
export function verifyRecord(record: AnyRecord): void {
  validateRecord(record, { signed: true });
  verifySignature(record);
}

/** A record's id: lowercase hex SHA-256 of its entry bytes (spec §2.9). */
export function recordId(entry: Uint8Array): string {
  return sha256Hex(entry);
}

// --- decoding (spec §2.7) ------------------------------------------------------------------------

function isObject(value: unknown): value is Record<string, JSONValue> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isInt = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value);
const isStr = (value: unknown): value is string => typeof value === "string";

function schemaError(why: string): RecordError {
  return new RecordError(`record does not match its schema: ${why} (spec §2.7 step 4)`);
}

function member<T>(
  object: Record<string, JSONValue>,
  name: string,
  check: (value: unknown) => value is T,
  what: string,
  nullable: boolean,
): T | undefined {
  if (!Object.hasOwn(object, name)) return undefined;
  const value = object[name];
  if (value === null && nullable) return undefined;
  if (!check(value)) throw schemaError(`${name} must be ${what}`);
  return value;
}

function stringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isStr);
}

const WORK_MEMBERS = new Set(["sha256", "pdq", "pdq_quality", "pdq_variants", "iscc", "urls", "media_type"]);
const DECLARATION_MEMBERS = new Set(["type", "v", "creator", "issued_at", "works", "prefs", "supersedes", "withdraw", "sig"]);

function convertWork(value: unknown, index: number): Work {
  if (!isObject(value)) throw schemaError(`works[${index}] must be an object`);
  for (const name of Object.keys(value)) {
    if (!WORK_MEMBERS.has(name)) throw schemaError(`unknown member works[${index}].${name}`);
  }
  const sha256 = member(value, "sha256", isStr, "a string", false);
  if (sha256 === undefined) throw schemaError(`works[${index}].sha256 is required`);
  const work: Work = { sha256 };
  const pdq = member(value, "pdq", isStr, "a string", true);
  const quality = member(value, "pdq_quality", isInt, "an integer", true);
  const variants = member(value, "pdq_variants", stringArray, "an array of strings", false);
  const iscc = member(value, "iscc", isStr, "a string", true);
  const urls = member(value, "urls", stringArray, "an array of strings", false);
  const mediaType = member(value, "media_type", isStr, "a string", true);
  if (pdq !== undefined) work.pdq = pdq;
  if (quality !== undefined) work.pdq_quality = quality;
  if (variants !== undefined) work.pdq_variants = variants;
  if (iscc !== undefined) work.iscc = iscc;
  if (urls !== undefined) work.urls = urls;
  if (mediaType !== undefined) work.media_type = mediaType;
  return work;
}

function convertDeclaration(value: Record<string, JSONValue>): Declaration {
  for (const name of Object.keys(value)) {
    if (!DECLARATION_MEMBERS.has(name)) throw schemaError(`unknown member ${name}`);
  }
  const v = member(value, "v", isInt, "an integer", false);
  const creator = member(value, "creator", isStr, "a string", false);
  const issuedAt = member(value, "issued_at", isInt, "an integer", false);
  const works = member(value, "works", Array.isArray, "an array", false) as unknown[] | undefined;
  const prefs = member(
    value,
    "prefs",
    (p: unknown): p is Record<string, string> => isObject(p) && Object.values(p).every(isStr),
    "an object of strings",
    false,
  );
  const supersedes = member(value, "supersedes", stringArray, "an array of strings", false);
  const withdraw = member(value, "withdraw", (w: unknown): w is boolean => typeof w === "boolean", "a boolean", false);
  const sig = member(value, "sig", isStr, "a string", false);
  if (v === undefined || creator === undefined || issuedAt === undefined || works === undefined || prefs === undefined) {
    throw schemaError("missing required member (v, creator, issued_at, works, prefs)");
  }
  const record: Declaration = {
    type: "declaration",
    v,
    creator,
    issued_at: issuedAt,
    works: works.map(convertWork),
    prefs: prefs as Prefs,
  };
  if (supersedes !== undefined) record.supersedes = supersedes;
  if (withdraw !== undefined) record.withdraw = withdraw;
  if (sig !== undefined) record.sig = sig;
  return record;
}

type MemberKind = "string" | "integer" | "boolean" | "works";
type TrustType = TrustRecord["type"];

/**
 * The schema of each trust record kind (spec §9.3 tables): member -> [JSON type, required].
 * Members with a default (`lapsed`, `hashes`, `works`, `sig`) may be absent.
 */
const TRUST_SCHEMAS: { readonly [T in TrustType]: Readonly<Record<string, readonly [MemberKind, boolean]>> } = {
  binding: {
    v: ["integer", true],
    node: ["string", true],
    origin: ["string", true],
    domain: ["string", true],
    creator: ["string", true],
    issued_at: ["integer", true],
    evidence: ["string", true],
    lapsed: ["boolean", false],
    sig: ["string", false],
  },
  "platform-attestation": {
    v: ["integer", true],
    platform: ["string", true],
    account: ["string", true],
    creator: ["string", true],
    issued_at: ["integer", true],
    hashes: ["string", false],
    works: ["works", false],
    sig: ["string", false],
  },
  rotation: { v: ["integer", true], creator: ["string", true], new_key: ["string", true], issued_at: ["integer", true], sig: ["string", false] },
  revocation: {
    v: ["integer", true],
    creator: ["string", true],
    key: ["string", true],
    since: ["integer", true],
    issued_at: ["integer", true],
    sig: ["string", false],
  },
  "counter-statement": {
    v: ["integer", true],
    creator: ["string", true],
    target: ["string", true],
    statement: ["string", true],
    issued_at: ["integer", true],
    sig: ["string", false],
  },
};

function convertMember(name: string, kind: MemberKind, value: JSONValue): unknown {
  switch (kind) {
    case "string":
      if (isStr(value)) return value;
      break;
    case "integer":
      if (isInt(value)) return value;
      break;
    case "boolean":
      if (typeof value === "boolean") return value;
      break;
    case "works":
      if (Array.isArray(value)) return value.map(convertWork);
      break;
  }
  throw schemaError(`${name} must be ${kind === "works" ? "an array" : `a ${kind}`}`);
}

function convertTrust(value: Record<string, JSONValue>, type: TrustType): TrustRecord {
  const schema = TRUST_SCHEMAS[type];
  for (const name of Object.keys(value)) {
    if (name !== "type" && !Object.hasOwn(schema, name)) throw schemaError(`unknown member ${name}`);
  }
  const record: Record<string, unknown> = { type };
  for (const [name, [kind, required]] of Object.entries(schema)) {
    if (Object.hasOwn(value, name)) record[name] = convertMember(name, kind, value[name] as JSONValue);
    else if (required) throw schemaError(`missing required member ${name}`);
  }
  // every member of the kind's schema was checked above, so this is a record of that kind
  return record as unknown as TrustRecord;
}

function decode(data: Uint8Array, types: readonly string[]): AnyRecord {
  checkSize(data); // step 1
  const value = parseJson(data); // step 2
  if (!bytesEqual(canonicalJson(value), data)) {
    throw new NonCanonicalError("entry is not canonical JSON (spec §2.7 step 3)"); // step 3
  }
  if (!isObject(value)) throw new RecordError("a record is a JSON object (spec §2.7 step 4)");
  const tag = value["type"];
  if (typeof tag !== "string" || !types.includes(tag)) {
    throw new RecordError(`unknown record type ${JSON.stringify(tag ?? null)} (spec §2.7 step 4)`);
  }
  // step 4: the kind's schema
  const record = tag === "declaration" ? convertDeclaration(value) : convertTrust(value, tag as TrustType);
  validateRecord(record, { signed: true }); // step 5
  if (!bytesEqual(encode(record, record.sig), data)) {
    throw new NonCanonicalError("entry writes a default value explicitly (spec §2.7 step 6)"); // step 6
  }
  return record;
}

/**
 * Decode and validate a declaration's log entry by the steps of spec §2.7, in order. Does NOT
 * verify the signature (use {@link loadRecord}). Throws {@link LimitError} (size, before parsing),
 * {@link EncodingError} (not strict JSON of the model), {@link NonCanonicalError} (not the
 * canonical encoding, or a default value written out), {@link RecordError} (also for a trust
 * record: an unknown type here, see {@link decodeEntry}) and the other classes of
 * {@link validateRecord}.
 */
export function decodeRecord(data: Uint8Array): Declaration {
  return decode(data, RECORD_TYPES) as Declaration; // RECORD_TYPES holds only the declaration
}

/**
 * Decode an entry and verify its signature (spec §2.7, §2.8): what a node accepts. Throws as
 * {@link decodeRecord}, and {@link SignatureError} if the signature fails.
 */
export function loadRecord(data: Uint8Array): Declaration {
  const record = decodeRecord(data);
  verifySignature(record);
  return record;
}

/**
 * Decode and validate a log entry of any kind (spec §2.7, §9.3): as {@link decodeRecord}, with the
 * trust records known besides the declaration, and the same error classes. Does NOT verify the
 * signature (use {@link loadEntry}).
 */
export function decodeEntry(data: Uint8Array): AnyRecord {
  return decode(data, ENTRY_TYPES);
}

/**
 * Decode an entry of any kind and verify its signature by {@link signerOf} (spec §2.8, §9.3).
 * Throws as {@link decodeEntry}, and {@link SignatureError} if the signature fails.
 */
export function loadEntry(data: Uint8Array): AnyRecord {
  const record = decodeEntry(data);
  verifySignature(record);
  return record;
}

// --- construction helpers (spec §2.10) -----------------------------------------------------------

/** Fields of {@link newWork}. */
export interface WorkInit {
  sha256: string;
  pdq?: string | undefined;
  pdq_quality?: number | undefined;
  pdq_variants?: Iterable<string> | undefined;
  iscc?: string | undefined;
  urls?: Iterable<string> | undefined;
  media_type?: string | undefined;
}

/**
 * A valid {@link Work}: URLs are normalised (spec §2.5), deduplicated and sorted. Throws
 * {@link RecordError} (or {@link LimitError}) if a field is invalid.
 */
export function newWork(init: WorkInit): Work {
  const urls = [...new Set([...(init.urls ?? [])].map(normalizeUrl))].sort();
  const work: Work = { sha256: init.sha256 };
  if (init.pdq !== undefined) work.pdq = init.pdq;
  if (init.pdq_quality !== undefined) work.pdq_quality = init.pdq_quality;
  const variants = [...new Set(init.pdq_variants ?? [])].filter((v) => v !== init.pdq).sort();
  if (variants.length) work.pdq_variants = variants;
  if (init.iscc !== undefined) work.iscc = init.iscc;
  if (urls.length) work.urls = urls;
  if (init.media_type !== undefined) work.media_type = init.media_type;
  validateWork(work, 0);
  return work;
}

/** Fields of {@link newDeclaration}. */
export interface DeclarationInit {
  creator: string;
  issued_at: number;
  works: Iterable<Work>;
  prefs: Record<string, string>;
  supersedes?: Iterable<string> | undefined;
  withdraw?: boolean | undefined;
}

/**
 * A valid unsigned {@link Declaration}, with works and superseded ids sorted. Throws
 * {@link RecordError} if two works share a `sha256`, and as {@link validateRecord} otherwise.
 * Sign it with {@link signDeclaration}.
 */
export function newDeclaration(init: DeclarationInit): Declaration {
  const works = [...init.works].sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  const supersedes = [...new Set(init.supersedes ?? [])].sort();
  const prefs = Object.fromEntries(Object.entries(init.prefs).sort(([a], [b]) => (a < b ? -1 : 1))) as Prefs;
  const record: Declaration = { type: "declaration", v: RECORD_VERSION, creator: init.creator, issued_at: init.issued_at, works, prefs };
  if (supersedes.length) record.supersedes = supersedes;
  if (init.withdraw) record.withdraw = true;
  validateRecord(record, { signed: false });
  return record;
}
