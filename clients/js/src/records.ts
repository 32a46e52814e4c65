/**
 * Signed records: the declaration, its works, limits, signing and record ids (spec §2). Mirrors
 * `registry/core/records.py`.
 *
 * A record is a plain object of the JSON model whose optional members are absent (`undefined`)
 * when they have their default value. {@link encodeRecord} gives its log entry (canonical JSON
 * with the signature), {@link recordId} the SHA-256 of an entry. {@link decodeRecord} follows the
 * steps of spec §2.7 in order, so it reports the same error class as the reference for every
 * rejected entry; {@link loadRecord} also verifies the signature (spec §2.8).
 */
import { base32 } from "@scure/base";
import {
  MAX_SAFE_INTEGER,
  b64decode,
  b64encode,
  bytesEqual,
  canonicalJson,
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

/** Every record type (a union once there is more than one). */
export type AnyRecord = Declaration;
/** Known record types by their `type` tag (spec §2.2). */
export const RECORD_TYPES: readonly string[] = ["declaration"];

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

/**
 * Check every schema rule and limit of spec §2.3-§2.6 except the entry size and the signature,
 * in the order of spec §2.7 step 5. With `signed` (the default) `sig` must be well-formed (not
 * verified). Throws {@link RecordError}/{@link LimitError}, `PreferenceError`, `KeyFormatError`
 * (creator), {@link SignatureError} (malformed `sig`).
 */
export function validateRecord(record: Declaration, options: { signed?: boolean } = {}): void {
  const signed = options.signed ?? true;
  if (record.v !== RECORD_VERSION) throw new RecordError(`unsupported record version ${record.v} (spec §2.2)`);
  PublicKey.fromDid(record.creator);
  if (!(Number.isInteger(record.issued_at) && record.issued_at >= 0 && record.issued_at <= MAX_ISSUED_AT)) {
    throw new RecordError("issued_at must be 0..2**53-1 (spec §2.3)");
  }
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
  if (signed) validateSignatureFormat(record.sig);
}

// --- encoding, signing (spec §2.8, §2.9) -----------------------------------------------------------

function plainWork(work: Work): Record<string, JSONValue | undefined> {
  return {
    sha256: work.sha256,
    pdq: work.pdq,
    pdq_quality: work.pdq_quality,
    iscc: work.iscc,
    urls: work.urls && work.urls.length ? work.urls : undefined,
    media_type: work.media_type,
  };
}

/** The record as a JSON object with default-valued members omitted (spec §2.3). */
function plain(record: Declaration, sig: string | undefined): Record<string, unknown> {
  return {
    type: record.type,
    v: record.v,
    creator: record.creator,
    issued_at: record.issued_at,
    works: record.works.map(plainWork),
    prefs: record.prefs,
    supersedes: record.supersedes && record.supersedes.length ? record.supersedes : undefined,
    withdraw: record.withdraw ? true : undefined,
    sig: sig ? sig : undefined,
  };
}

function encode(record: Declaration, sig: string | undefined): Uint8Array {
  return canonicalJson(plain(record, sig));
}

/**
 * The bytes a record's signature covers: its canonical JSON without `sig` and with defaults
 * omitted (spec §2.8). Throws as {@link validateRecord} with `signed: false`.
 */
export function signingInput(record: Declaration): Uint8Array {
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
export function encodeRecord(record: Declaration): Uint8Array {
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
export function entrySize(record: Declaration): number {
  return encode(record, SIG_PLACEHOLDER).length;
}

/** Seconds a record's `issued_at` may be ahead of a receiver's clock (spec §2.11). */
export const DEFAULT_CLOCK_SKEW = 600;

/**
 * Refuse a record dated beyond `now + skew` (spec §2.11): {@link FutureRecordError}. `now` is the
 * receiver's clock in Unix seconds, passed in (no function here reads a clock).
 */
export function checkIssuedAt(record: Declaration, now: number, skew: number = DEFAULT_CLOCK_SKEW): void {
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

function verifySignature(record: Declaration): void {
  const signature = validateSignatureFormat(record.sig);
  PublicKey.fromDid(record.creator).verify(signature, encode(record, undefined));
}

/**
 * Check a record's signature by its creator (spec §2.8). Throws as {@link validateRecord} for a
 * malformed record and {@link SignatureError} if the signature does not verify.
 */
export function verifyRecord(record: Declaration): void {
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

const WORK_MEMBERS = new Set(["sha256", "pdq", "pdq_quality", "iscc", "urls", "media_type"]);
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
  const iscc = member(value, "iscc", isStr, "a string", true);
  const urls = member(value, "urls", stringArray, "an array of strings", false);
  const mediaType = member(value, "media_type", isStr, "a string", true);
  if (pdq !== undefined) work.pdq = pdq;
  if (quality !== undefined) work.pdq_quality = quality;
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

/**
 * Decode and validate a log entry by the steps of spec §2.7, in order. Does NOT verify the
 * signature (use {@link loadRecord}). Throws {@link LimitError} (size, before parsing),
 * {@link EncodingError} (not strict JSON of the model), {@link NonCanonicalError} (not the
 * canonical encoding, or a default value written out), {@link RecordError} and the other
 * classes of {@link validateRecord}.
 */
export function decodeRecord(data: Uint8Array): Declaration {
  checkSize(data); // step 1
  const value = parseJson(data); // step 2
  if (!bytesEqual(canonicalJson(value), data)) {
    throw new NonCanonicalError("entry is not canonical JSON (spec §2.7 step 3)"); // step 3
  }
  if (!isObject(value)) throw new RecordError("a record is a JSON object (spec §2.7 step 4)");
  const tag = value["type"];
  if (typeof tag !== "string" || !RECORD_TYPES.includes(tag)) {
    throw new RecordError(`unknown record type ${JSON.stringify(tag ?? null)} (spec §2.7 step 4)`);
  }
  const record = convertDeclaration(value); // step 4
  validateRecord(record, { signed: true }); // step 5
  if (!bytesEqual(encode(record, record.sig), data)) {
    throw new NonCanonicalError("entry writes a default value explicitly (spec §2.7 step 6)"); // step 6
  }
  return record;
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

// --- construction helpers (spec §2.10) -----------------------------------------------------------

/** Fields of {@link newWork}. */
export interface WorkInit {
  sha256: string;
  pdq?: string | undefined;
  pdq_quality?: number | undefined;
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
