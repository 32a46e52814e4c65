/**
 * URL normalisation for the URL index and for URLs inside records (spec §2.5). Mirrors
 * `registry/core/urls.py`: RFC 3986 §6.2.2 syntax-based normalisation with fixed choices (only
 * `http`/`https`, no userinfo, ASCII hosts only, default ports and fragments dropped, the query
 * kept apart from percent-encoding normalisation). Lengths count Unicode code points, as the
 * Python reference does.
 */
import { LimitError, RecordError } from "./errors.js";
import { isWellFormed } from "./encoding.js";

/** Longest URL accepted, before and after normalisation (spec §2.6). */
export const MAX_URL_LENGTH = 2048;

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443 };
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const HOST_LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const PATH_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;
const QUERY_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]$/;
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]*$/;
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*$/;
const CONTROL = /[\u0000-\u0020\u007f]/; // spec §2.5 step 2
const HEX2 = /^[0-9A-Fa-f]{2}$/;

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function fail(url: string, why: string): RecordError {
  const shown = codePoints(url) <= 80 ? url : [...url].slice(0, 77).join("") + "...";
  return new RecordError(`invalid URL ${JSON.stringify(shown)}: ${why} (spec §2.5)`);
}

const encoder = new TextEncoder();

function normalisePercent(url: string, text: string, safe: RegExp, plain: RegExp): string {
  // spec §2.5 step 6
  if (plain.test(text)) return text;
  const out: string[] = [];
  const chars = [...text];
  for (let index = 0; index < chars.length; index++) {
    const char = chars[index]!;
    if (char === "%") {
      const digits = (chars[index + 1] ?? "") + (chars[index + 2] ?? "");
      if (!HEX2.test(digits)) throw fail(url, "'%' is not followed by two hex digits");
      const decoded = String.fromCharCode(parseInt(digits, 16));
      out.push(UNRESERVED.test(decoded) ? decoded : "%" + digits.toUpperCase());
      index += 2;
    } else if (safe.test(char)) {
      out.push(char);
    } else {
      for (const byte of encoder.encode(char)) {
        out.push("%" + byte.toString(16).toUpperCase().padStart(2, "0"));
      }
    }
  }
  return out.join("");
}

function removeDotSegments(path: string): string {
  // RFC 3986 §5.2.4 for an absolute path (spec §2.5 step 7)
  const output: string[] = [];
  const segments = path.split("/").slice(1);
  segments.forEach((segment, position) => {
    const last = position === segments.length - 1;
    if (segment === ".") {
      if (last) output.push("");
    } else if (segment === "..") {
      output.pop();
      if (last) output.push("");
    } else {
      output.push(segment);
    }
  });
  return "/" + output.join("/");
}

// --- IPv6 literals, as Python's ipaddress.IPv6Address parses and compresses them -----------------

function parseIPv4(text: string): number[] | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const part of parts) {
    if (!/^[0-9]{1,3}$/.test(part)) return null;
    if (part.length > 1 && part[0] === "0") return null; // leading zeros are ambiguous
    const value = Number(part);
    if (value > 255) return null;
    out.push(value);
  }
  return out;
}

/** The 8 hextets of an IPv6 address, or null: the rules of Python's `ipaddress` (RFC 4291). */
function parseIPv6(text: string): number[] | null {
  const parts = text.split(":");
  if (parts.length < 3) return null;
  if (parts[parts.length - 1]!.includes(".")) {
    const v4 = parseIPv4(parts.pop()!);
    if (v4 === null) return null;
    parts.push(((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16));
  }
  if (parts.length > 9) return null;
  let skip: number | null = null;
  for (let i = 1; i < parts.length - 1; i++) {
    if (parts[i] === "") {
      if (skip !== null) return null; // more than one "::"
      skip = i;
    }
  }
  let hi: number;
  let lo: number;
  let skipped: number;
  if (skip !== null) {
    hi = skip;
    lo = parts.length - skip - 1;
    if (parts[0] === "") {
      hi -= 1;
      if (hi) return null;
    }
    if (parts[parts.length - 1] === "") {
      lo -= 1;
      if (lo) return null;
    }
    skipped = 8 - (hi + lo);
    if (skipped < 1) return null;
  } else {
    if (parts.length !== 8) return null;
    if (parts[0] === "" || parts[parts.length - 1] === "") return null;
    hi = parts.length;
    lo = 0;
    skipped = 0;
  }
  const out: number[] = [];
  const hextet = (s: string): number | null => (/^[0-9a-fA-F]{1,4}$/.test(s) ? parseInt(s, 16) : null);
  for (let i = 0; i < hi; i++) {
    const v = hextet(parts[i]!);
    if (v === null) return null;
    out.push(v);
  }
  for (let i = 0; i < skipped; i++) out.push(0);
  for (let i = lo; i > 0; i--) {
    const v = hextet(parts[parts.length - i]!);
    if (v === null) return null;
    out.push(v);
  }
  return out.length === 8 ? out : null;
}

/** RFC 5952 compressed lowercase form (the longest run of two or more zero hextets, first wins). */
function compressIPv6(hextets: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  let start = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && hextets[i] === 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      const len = i - start;
      if (len > bestLen && len > 1) {
        bestStart = start;
        bestLen = len;
      }
      start = -1;
    }
  }
  const words = hextets.map((h) => h.toString(16));
  if (bestLen === 0) return words.join(":");
  const head = words.slice(0, bestStart).join(":");
  const tail = words.slice(bestStart + bestLen).join(":");
  return head + "::" + tail;
}

function normaliseHost(url: string, host: string): string {
  // spec §2.5 step 5
  if (host.startsWith("[")) {
    if (!host.endsWith("]") || host.includes("%")) {
      throw fail(url, "malformed IPv6 literal (zone identifiers are not allowed)");
    }
    const hextets = parseIPv6(host.slice(1, -1));
    if (hextets === null) throw fail(url, "invalid IPv6 literal");
    return `[${compressIPv6(hextets)}]`;
  }
  if (!/^[\u0000-\u007f]*$/.test(host)) {
    throw fail(url, "non-ASCII host: give it in IDNA A-label (xn--) form");
  }
  // a single trailing dot (the fully qualified form) names the same host: removed
  const lower = host.toLowerCase();
  const name = lower.endsWith(".") ? lower.slice(0, -1) : lower;
  if (!name.split(".").every((label) => HOST_LABEL.test(label))) {
    throw fail(url, "host is not a valid host name");
  }
  return name;
}

function splitPort(authority: string): [string, string] {
  // spec §2.5 step 4: IPv6 literals keep their colons
  const bracket = authority.lastIndexOf("]");
  const colon = authority.lastIndexOf(":");
  if (colon <= bracket) return [authority, ""];
  return [authority.slice(0, colon), authority.slice(colon + 1)];
}

/**
 * The normal form of an absolute `http`/`https` URL (spec §2.5). Throws {@link RecordError} for
 * anything that is not such a URL (another scheme, no host, userinfo, a bad port, a non-ASCII
 * host, whitespace or control characters, a malformed percent escape), {@link LimitError} if it
 * is longer than {@link MAX_URL_LENGTH} code points before or after normalisation.
 */
export function normalizeUrl(url: string): string {
  // step 1
  if (codePoints(url) > MAX_URL_LENGTH) {
    throw new LimitError(`URL longer than ${MAX_URL_LENGTH} characters (spec §2.6)`);
  }
  // step 2
  if (CONTROL.test(url)) throw fail(url, "whitespace or control character");
  if (!isWellFormed(url)) throw fail(url, "lone surrogate");
  // step 3
  const colonAt = url.indexOf(":");
  if (colonAt < 0 || !SCHEME.test(url.slice(0, colonAt))) throw fail(url, "no scheme");
  const scheme = url.slice(0, colonAt).toLowerCase();
  if (!(scheme === "http" || scheme === "https")) throw fail(url, "scheme is not http or https");
  let rest = url.slice(colonAt + 1);
  if (!rest.startsWith("//")) throw fail(url, "no authority ('//host')");
  rest = rest.slice(2);
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash); // step 8: the fragment is dropped
  const cuts = [rest.indexOf("/"), rest.indexOf("?")].filter((i) => i >= 0);
  const cut = cuts.length ? Math.min(...cuts) : rest.length;
  const authority = rest.slice(0, cut);
  rest = rest.slice(cut);
  const qmark = rest.indexOf("?");
  const path = qmark >= 0 ? rest.slice(0, qmark) : rest;
  const query = qmark >= 0 ? rest.slice(qmark + 1) : null;
  // step 4
  if (authority.includes("@")) throw fail(url, "userinfo is not allowed");
  const [rawHost, portText] = splitPort(authority);
  if (!rawHost) throw fail(url, "empty host");
  let port = "";
  if (portText) {
    if (!/^[0-9]{1,5}$/.test(portText)) throw fail(url, "port is not a number");
    const number = Number(portText);
    if (!(number > 0 && number <= 65535)) throw fail(url, "port out of range");
    if (number !== DEFAULT_PORTS[scheme]) port = `:${number}`;
  }
  const host = normaliseHost(url, rawHost);
  // steps 6 and 7
  const normalPath = removeDotSegments(normalisePercent(url, path || "/", PATH_SAFE, PLAIN_PATH));
  let result = `${scheme}://${host}${port}${normalPath}`;
  if (query !== null) result += "?" + normalisePercent(url, query, QUERY_SAFE, PLAIN_QUERY);
  // step 9
  if (result.length > MAX_URL_LENGTH) {
    throw new LimitError(`normalised URL longer than ${MAX_URL_LENGTH} characters (spec §2.6)`);
  }
  return result;
}
