/**
 * Canonical JSON (RFC 8785, restricted to integers) and the binary-to-text encodings (spec §1.2,
 * §1.3). Mirrors `registry/core/encoding.py`.
 *
 * {@link canonicalJson} serialises a value of the model (spec §1.2.1) in its one canonical form;
 * {@link parseJson} reads UTF-8 JSON text strictly into the model (spec §1.2.3) and
 * {@link parseCanonicalJson} also insists the text *is* that canonical form (spec §1.2.4). The
 * byte encodings accept exactly the text their encoder would produce.
 */
import { base58, base64 } from "@scure/base";
import { EncodingError, NonCanonicalError } from "./errors.js";

/** A value of the restricted JSON model (spec §1.2.1): integers only, no floats. */
export type JSONValue = null | boolean | number | string | JSONValue[] | JSONObject;
/** A JSON object of the model. */
export interface JSONObject {
  [key: string]: JSONValue;
}

/** Largest integer magnitude in the model: I-JSON (RFC 7493 §2.2). */
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
/** Deepest nesting of arrays and objects accepted (spec §1.2.1). */
export const MAX_DEPTH = 32;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of a string; throws {@link EncodingError} on a lone surrogate. */
export function utf8(text: string): Uint8Array {
  if (!isWellFormed(text)) throw new EncodingError("string contains a lone surrogate (spec §1.2.1)");
  return utf8Encoder.encode(text);
}

/** Decode strict UTF-8 (no overlong forms, no encoded surrogates); a BOM is kept as U+FEFF. */
export function fromUtf8(data: Uint8Array): string {
  try {
    return utf8Decoder.decode(data);
  } catch (cause) {
    throw new EncodingError("text is not valid UTF-8", { cause });
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True if `text` holds no lone surrogate (so it is a string of Unicode scalar values). */
export function isWellFormed(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

// spec §1.2.2 / RFC 8785 §3.2.2.2: the only escapes are \" \\ \b \f \n \r \t and, for the other
// control characters, \u00xx with lowercase hex. Nothing else is escaped.
const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};
const NEEDS_ESCAPE = /[\u0000-\u001f"\\]/g;

function quote(text: string): string {
  if (!isWellFormed(text)) throw new EncodingError("string contains a lone surrogate (spec §1.2.1)");
  return (
    '"' +
    text.replace(
      NEEDS_ESCAPE,
      (c) => SHORT_ESCAPES[c] ?? "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
    ) +
    '"'
  );
}

// RFC 8785 §3.2.3: member names sort by UTF-16 code units, which is exactly how JavaScript
// compares strings with `<`.
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function serialise(value: unknown, out: string[], depth: number): void {
  if (value === null) out.push("null");
  else if (value === true) out.push("true");
  else if (value === false) out.push("false");
  else if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new EncodingError(`number ${value} is not an integer: floats are not in the model`);
    }
    if (Math.abs(value) > MAX_SAFE_INTEGER) {
      throw new EncodingError(`integer ${value} is outside ±(2**53-1) (spec §1.2.1)`);
    }
    out.push(value === 0 ? "0" : String(value)); // never "-0"
  } else if (typeof value === "string") out.push(quote(value));
  else if (Array.isArray(value)) {
    if (depth >= MAX_DEPTH) throw new EncodingError(`nesting deeper than ${MAX_DEPTH} (spec §1.2.1)`);
    out.push("[");
    value.forEach((item, index) => {
      if (index) out.push(",");
      serialise(item, out, depth + 1);
    });
    out.push("]");
  } else if (typeof value === "object" && isPlainObject(value)) {
    if (depth >= MAX_DEPTH) throw new EncodingError(`nesting deeper than ${MAX_DEPTH} (spec §1.2.1)`);
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).sort(compareUtf16);
    out.push("{");
    let first = true;
    for (const key of keys) {
      const member = record[key];
      if (member === undefined) continue; // an absent optional member
      if (!first) out.push(",");
      first = false;
      out.push(quote(key), ":");
      serialise(member, out, depth + 1);
    }
    out.push("}");
  } else if (typeof value === "bigint") {
    throw new EncodingError("bigint is not a JSON value of the model: use a number");
  } else {
    throw new EncodingError(`${typeof value} is not a JSON value of the model`);
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The RFC 8785 canonical text of `value` (spec §1.2.2). Members whose value is `undefined` are
 * left out (that is how optional members are absent). Throws {@link EncodingError} for anything
 * outside the model: a non-integer number, an integer beyond ±(2^53-1), a lone surrogate,
 * nesting deeper than {@link MAX_DEPTH}, or a value that is not JSON.
 */
export function canonicalJsonText(value: unknown): string {
  const out: string[] = [];
  serialise(value, out, 0);
  return out.join("");
}

/** The canonical UTF-8 bytes of `value` (spec §1.2.2); throws as {@link canonicalJsonText}. */
export function canonicalJson(value: unknown): Uint8Array {
  return utf8Encoder.encode(canonicalJsonText(value));
}

// --- strict parsing (spec §1.2.3) -------------------------------------------------------------

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(why: string): EncodingError {
    return new EncodingError(`not valid JSON text at offset ${this.pos}: ${why}`);
  }

  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  value(depth: number): JSONValue {
    this.ws();
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.object(depth + 1);
      case "[":
        return this.array(depth + 1);
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
        throw this.fail(c === undefined ? "unexpected end" : `unexpected character ${JSON.stringify(c)}`);
    }
  }

  literal<T extends JSONValue>(word: string, value: T): T {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return value;
    }
    throw this.fail("invalid literal");
  }

  number(): number {
    const rest = this.text.slice(this.pos);
    const match = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(rest);
    if (match === null) throw this.fail("invalid number");
    const next = this.text[this.pos + match[0].length];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) throw this.fail("invalid number");
    if (match[1] !== undefined || match[2] !== undefined) {
      throw this.fail("numbers with a fraction or exponent are not allowed (spec §1.2.1)");
    }
    const digits = match[0].replace("-", "");
    const value = Number(match[0]);
    if (digits.length > 16 || Math.abs(value) > MAX_SAFE_INTEGER) {
      throw new EncodingError(`integer ${match[0]} is outside ±(2**53-1) (spec §1.2.1)`);
    }
    this.pos += match[0].length;
    return value === 0 ? 0 : value; // -0 parses as 0; the canonical check still sees "-0"
  }

  string(): string {
    const t = this.text;
    this.pos++; // opening quote
    let out = "";
    let start = this.pos;
    for (;;) {
      if (this.pos >= t.length) throw this.fail("string not closed");
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(start, this.pos);
        this.pos++;
        break;
      }
      if (c < 0x20) throw this.fail("unescaped control character in string");
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += t.slice(start, this.pos);
      const e = t[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u":
          out += String.fromCharCode(this.hex4());
          break;
        default:
          throw this.fail("invalid escape in string");
      }
      start = this.pos;
    }
    if (!isWellFormed(out)) throw new EncodingError("\\u escape leaves a lone surrogate (spec §1.2.3)");
    return out;
  }

  hex4(): number {
    const digits = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw this.fail("invalid \\u escape");
    this.pos += 4;
    return parseInt(digits, 16);
  }

  array(depth: number): JSONValue[] {
    if (depth > MAX_DEPTH) throw new EncodingError(`nesting deeper than ${MAX_DEPTH} (spec §1.2.1)`);
    this.pos++;
    const out: JSONValue[] = [];
    this.ws();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.text[this.pos++];
      if (c === "]") return out;
      if (c !== ",") throw this.fail("expected ',' or ']'");
    }
  }

  object(depth: number): JSONObject {
    if (depth > MAX_DEPTH) throw new EncodingError(`nesting deeper than ${MAX_DEPTH} (spec §1.2.1)`);
    this.pos++;
    const out: JSONObject = {};
    this.ws();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') throw this.fail("expected a member name");
      const key = this.string();
      this.ws();
      if (this.text[this.pos++] !== ":") throw this.fail("expected ':'");
      const member = this.value(depth);
      // a duplicate name: the last one wins (the canonical check then fails, spec §1.2.4);
      // defineProperty so that "__proto__" is an ordinary member
      Object.defineProperty(out, key, { value: member, enumerable: true, writable: true, configurable: true });
      this.ws();
      const c = this.text[this.pos++];
      if (c === "}") return out;
      if (c !== ",") throw this.fail("expected ',' or '}'");
    }
  }
}

/**
 * Parse UTF-8 JSON text strictly into the model (spec §1.2.3). Throws {@link EncodingError} for
 * invalid UTF-8, a byte order mark, anything not RFC 8259 JSON, lone surrogate escapes, numbers
 * with a fraction or exponent, integers beyond ±(2^53-1), nesting deeper than 32. Duplicate names
 * are not detected (the last wins): use {@link parseCanonicalJson} where they must be rejected.
 */
export function parseJson(data: Uint8Array): JSONValue {
  const parser = new Parser(fromUtf8(data));
  const value = parser.value(0);
  parser.ws();
  if (parser.pos !== parser.text.length) throw parser.fail("trailing data");
  return value;
}

/**
 * Parse `data` and require it to be byte-identical to its canonical form (spec §1.2.4). Throws
 * as {@link parseJson}, then {@link NonCanonicalError} if re-encoding differs.
 */
export function parseCanonicalJson(data: Uint8Array): JSONValue {
  const value = parseJson(data);
  if (!bytesEqual(canonicalJson(value), data)) {
    throw new NonCanonicalError("JSON text is not in canonical form (spec §1.2.4)");
  }
  return value;
}

// --- bytes ------------------------------------------------------------------------------------

/** True if two byte strings are equal. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Concatenate byte strings. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// spec §1.3.2: base64 is RFC 4648 §4, standard alphabet, with padding, canonical only.
/** Encode as RFC 4648 §4 base64 (standard alphabet, padded). */
export function b64encode(data: Uint8Array): string {
  return base64.encode(data);
}

const B64_TEXT = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decode standard padded base64, accepting only the canonical encoding (spec §1.3.2). Throws
 * {@link EncodingError} for characters outside the alphabet, whitespace, missing or extra
 * padding and non-zero unused bits.
 */
export function b64decode(text: string): Uint8Array {
  if (!B64_TEXT.test(text)) throw new EncodingError("invalid base64 (spec §1.3.2)");
  let data: Uint8Array;
  try {
    data = base64.decode(text);
  } catch (cause) {
    throw new EncodingError("invalid base64 (spec §1.3.2)", { cause });
  }
  if (b64encode(data) !== text) {
    throw new EncodingError("base64 is not in canonical form (unused bits must be zero)");
  }
  return data;
}

/** Encode in base58btc: each leading zero byte becomes `1` (spec §1.3.3). */
export function b58encode(data: Uint8Array): string {
  return base58.encode(data);
}

/** Decode base58btc text (spec §1.3.3); throws {@link EncodingError} on a bad character. */
export function b58decode(text: string): Uint8Array {
  try {
    return base58.decode(text);
  } catch (cause) {
    throw new EncodingError("invalid base58btc text (spec §1.3.3)", { cause });
  }
}

/** Lowercase hex of `data` (spec §1.3.1). */
export function bytesToHex(data: Uint8Array): string {
  let out = "";
  for (const byte of data) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * Decode strict lowercase hex (spec §1.3.1), optionally of exactly `length` bytes. Throws
 * {@link EncodingError} for uppercase or non-hex characters, an odd number of digits, or the
 * wrong length.
 */
export function hexToBytes(text: string, length?: number): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(text)) {
    throw new EncodingError("expected lowercase hexadecimal with an even number of digits");
  }
  if (length !== undefined && text.length !== 2 * length) {
    throw new EncodingError(`expected ${length} bytes of hex, got ${text.length / 2}`);
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}
