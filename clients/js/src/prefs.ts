/**
 * AI usage preferences (spec §3.1-§3.4): the AIPREF vocabulary, `Content-Usage` (an RFC 9651
 * Dictionary), the robots.txt rule, and the one mapping table to and from TDM·AI, CAWG, TDMRep,
 * robots tags and Content Signals. Mirrors `registry/core/prefs.py`.
 */
import { PreferenceError, StructuredFieldError } from "./errors.js";

/** A statement of preference: category label -> "y" (allowed) or "n" (disallowed). */
export type Prefs = Record<string, "y" | "n">;

/** The categories this version of the protocol understands (spec §3.1). */
export const CATEGORIES = ["train-ai", "search"] as const;
export const ALLOW = "y";
export const DISALLOW = "n";
export const MAX_CATEGORY_LENGTH = 64;
const CATEGORY_RE = /^[a-z*][a-z0-9_.*-]*$/;

function sortedEntries<T>(record: Record<string, T>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function fromEntries<T>(entries: [string, T][]): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/** Return `category` if it is a well-formed label (spec §3.1); else {@link PreferenceError}. */
export function validateCategory(category: unknown): string {
  if (typeof category !== "string") throw new PreferenceError(`category must be a string, not ${typeof category}`);
  if ([...category].length > MAX_CATEGORY_LENGTH) {
    throw new PreferenceError(`category longer than ${MAX_CATEGORY_LENGTH} characters`);
  }
  if (!CATEGORY_RE.test(category)) throw new PreferenceError(`malformed category label ${JSON.stringify(category)}`);
  return category;
}

/** Check a statement of preference (spec §3.1) and return a copy; {@link PreferenceError} if not. */
export function validatePrefs(prefs: Record<string, unknown>): Prefs {
  const out: [string, "y" | "n"][] = [];
  for (const [category, value] of Object.entries(prefs)) {
    validateCategory(category);
    if (value !== ALLOW && value !== DISALLOW) {
      throw new PreferenceError(`preference for ${JSON.stringify(category)} must be 'y' or 'n'`);
    }
    out.push([category, value]);
  }
  return fromEntries(out) as Prefs;
}

/**
 * Combine several statements about one asset per category (spec §3.2): "n" if any says "n",
 * else "y" if any says "y", else absent. Keys sorted. {@link PreferenceError} on another value.
 */
export function combine(prefsList: Iterable<Record<string, string>>): Prefs {
  const result: Record<string, "y" | "n"> = {};
  for (const prefs of prefsList) {
    for (const [category, value] of Object.entries(prefs)) {
      if (value === DISALLOW) result[category] = DISALLOW;
      else if (value === ALLOW) {
        if (!Object.hasOwn(result, category)) result[category] = ALLOW;
      } else throw new PreferenceError(`preference for ${JSON.stringify(category)} must be 'y' or 'n'`);
    }
  }
  return fromEntries(sortedEntries(result)) as Prefs;
}

// --- RFC 9651 structured fields (§3, §4.2) ------------------------------------------------------

/** An RFC 9651 bare item (§3.3), tagged by its type. */
export type BareItem =
  | { type: "integer"; value: number }
  | { type: "decimal"; value: number }
  | { type: "string"; value: string }
  | { type: "token"; value: string }
  | { type: "bytes"; value: Uint8Array }
  | { type: "boolean"; value: boolean }
  | { type: "date"; value: number }
  | { type: "displaystring"; value: string };
/** Parameters of an item or inner list. */
export type Parameters = Map<string, BareItem>;
/** An RFC 9651 Item with its parameters. */
export interface Item {
  kind: "item";
  value: BareItem;
  params: Parameters;
}
/** An RFC 9651 Inner List with its parameters. */
export interface InnerList {
  kind: "innerlist";
  items: Item[];
  params: Parameters;
}

const DIGIT = /[0-9]/;
const ALPHA = /[A-Za-z]/;
const KEY_FIRST = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_CHAR = /[A-Za-z0-9!#$%&'*+\-.^_`|~:/]/;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;
const LCHEX = /[0-9a-f]/;

class SfParser {
  pos = 0;
  constructor(readonly text: string) {}
  fail(why: string): StructuredFieldError {
    return new StructuredFieldError(`invalid structured field at offset ${this.pos}: ${why}`);
  }
  peek(): string {
    return this.text[this.pos] ?? "";
  }
  empty(): boolean {
    return this.pos >= this.text.length;
  }
  skipSp(): void {
    while (this.peek() === " ") this.pos++;
  }
  skipOws(): void {
    while (this.peek() === " " || this.peek() === "\t") this.pos++;
  }
  dictionary(): Map<string, Item | InnerList> {
    // RFC 9651 §4.2.2
    const members = new Map<string, Item | InnerList>();
    while (!this.empty()) {
      const key = this.key();
      let member: Item | InnerList;
      if (this.peek() === "=") {
        this.pos++;
        member = this.itemOrInnerList();
      } else {
        member = { kind: "item", value: { type: "boolean", value: true }, params: this.parameters() };
      }
      // a later member overwrites the earlier value, in its place (step 2.4)
      members.set(key, member);
      this.skipOws();
      if (this.empty()) return members;
      if (this.peek() !== ",") throw this.fail("expected ',' between dictionary members");
      this.pos++;
      this.skipOws();
      if (this.empty()) throw this.fail("trailing ',' in dictionary");
    }
    return members;
  }
  itemOrInnerList(): Item | InnerList {
    return this.peek() === "(" ? this.innerList() : this.item();
  }
  innerList(): InnerList {
    this.pos++;
    const items: Item[] = [];
    while (!this.empty()) {
      this.skipSp();
      if (this.peek() === ")") {
        this.pos++;
        return { kind: "innerlist", items, params: this.parameters() };
      }
      items.push(this.item());
      if (this.empty() || (this.peek() !== " " && this.peek() !== ")")) {
        throw this.fail("expected ' ' or ')' in inner list");
      }
    }
    throw this.fail("inner list not closed");
  }
  item(): Item {
    const value = this.bareItem();
    return { kind: "item", value, params: this.parameters() };
  }
  bareItem(): BareItem {
    const c = this.peek();
    if (c === "-" || (c && DIGIT.test(c))) return this.number();
    if (c === '"') return { type: "string", value: this.string() };
    if (c && (ALPHA.test(c) || c === "*")) return this.token();
    if (c === ":") return this.byteSequence();
    if (c === "?") return this.boolean();
    if (c === "@") return this.date();
    if (c === "%") return this.displayString();
    throw this.fail("expected an item");
  }
  parameters(): Parameters {
    const params: Parameters = new Map();
    while (this.peek() === ";") {
      this.pos++;
      this.skipSp();
      const key = this.key();
      let value: BareItem = { type: "boolean", value: true };
      if (this.peek() === "=") {
        this.pos++;
        value = this.bareItem();
      }
      params.set(key, value);
    }
    return params;
  }
  key(): string {
    const start = this.pos;
    if (this.empty() || !KEY_FIRST.test(this.peek())) throw this.fail("expected a key");
    while (!this.empty() && KEY_CHAR.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
  number(): BareItem {
    // RFC 9651 §4.2.4
    let sign = 1;
    if (this.peek() === "-") {
      this.pos++;
      sign = -1;
    }
    if (this.empty() || !DIGIT.test(this.peek())) throw this.fail("expected a digit");
    const start = this.pos;
    let isDecimal = false;
    while (!this.empty()) {
      const c = this.peek();
      if (DIGIT.test(c)) this.pos++;
      else if (c === "." && !isDecimal) {
        if (this.pos - start > 12) throw this.fail("decimal with more than 12 integer digits");
        isDecimal = true;
        this.pos++;
      } else break;
      if (this.pos - start > (isDecimal ? 16 : 15)) throw this.fail("number too long");
    }
    const digits = this.text.slice(start, this.pos);
    if (!isDecimal) return { type: "integer", value: sign * Number(digits) };
    if (digits.endsWith(".")) throw this.fail("decimal ends with '.'");
    if (digits.length - digits.indexOf(".") - 1 > 3) throw this.fail("decimal with more than 3 fractional digits");
    return { type: "decimal", value: sign * Number(digits) };
  }
  string(): string {
    this.pos++;
    let out = "";
    while (!this.empty()) {
      const c = this.text[this.pos++]!;
      if (c === "\\") {
        if (this.empty()) throw this.fail("string ends after '\\'");
        const next = this.text[this.pos++]!;
        if (next !== '"' && next !== "\\") throw this.fail("bad escape in string");
        out += next;
      } else if (c === '"') return out;
      else if (c < " " || c > "~") throw this.fail("control character in string");
      else out += c;
    }
    throw this.fail("string not closed");
  }
  token(): BareItem {
    const start = this.pos++;
    while (!this.empty() && TOKEN_CHAR.test(this.peek())) this.pos++;
    return { type: "token", value: this.text.slice(start, this.pos) };
  }
  byteSequence(): BareItem {
    this.pos++;
    const end = this.text.indexOf(":", this.pos);
    if (end < 0) throw this.fail("byte sequence not closed");
    const content = this.text.slice(this.pos, end);
    this.pos = end + 1;
    for (const c of content) if (!BASE64_CHAR.test(c)) throw this.fail("invalid base64 character in byte sequence");
    // parsers SHOULD NOT fail on missing "=" padding or non-zero pad bits (§4.2.7 step 6 note)
    const data = content.replace(/=+$/, "");
    if (data.includes("=")) throw this.fail("'=' inside base64 content");
    if (data.length % 4 === 1) throw this.fail("undecodable base64 in byte sequence");
    const binary = atob(data + "=".repeat((4 - (data.length % 4)) % 4));
    return { type: "bytes", value: Uint8Array.from(binary, (ch) => ch.charCodeAt(0)) };
  }
  boolean(): BareItem {
    this.pos++;
    const c = this.peek();
    if (c === "0" || c === "1") {
      this.pos++;
      return { type: "boolean", value: c === "1" };
    }
    throw this.fail("expected ?0 or ?1");
  }
  date(): BareItem {
    this.pos++;
    const value = this.number();
    if (value.type === "decimal") throw this.fail("date must be an integer");
    return { type: "date", value: value.value as number };
  }
  displayString(): BareItem {
    this.pos++;
    if (this.empty() || this.peek() !== '"') throw this.fail("expected '\"' after '%'");
    this.pos++;
    const out: number[] = [];
    while (!this.empty()) {
      const c = this.text[this.pos++]!;
      if (c < " " || c > "~") throw this.fail("control character in display string");
      if (c === "%") {
        const octet = this.text.slice(this.pos, this.pos + 2);
        if (octet.length !== 2 || ![...octet].every((h) => LCHEX.test(h))) {
          throw this.fail("bad percent-encoding in display string");
        }
        this.pos += 2;
        out.push(parseInt(octet, 16));
      } else if (c === '"') {
        try {
          return { type: "displaystring", value: new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(out)) };
        } catch {
          throw this.fail("display string is not UTF-8");
        }
      } else out.push(c.charCodeAt(0));
    }
    throw this.fail("display string not closed");
  }
}

/**
 * Parse an RFC 9651 Dictionary field value (RFC 9651 §4.2, §4.2.2). Join several field lines
 * with ", " first. Throws {@link StructuredFieldError} if it is not ASCII or not a Dictionary.
 */
export function parseDictionary(value: string): Map<string, Item | InnerList> {
  if (!/^[\u0000-\u007f]*$/.test(value)) throw new StructuredFieldError("structured field value is not ASCII");
  const parser = new SfParser(value);
  parser.skipSp();
  return parser.dictionary();
}

/**
 * Process a `Content-Usage` field value into a statement (spec §3.3.1): members whose value is
 * the Token `y` or `n` state that preference, parameters ignored; any other value leaves the
 * category unknown; the last of a repeated key wins; keys over 64 characters are dropped. Keys
 * sorted. Throws {@link StructuredFieldError} for a value that is not a Dictionary (then every
 * preference is unknown: never use a partial parse).
 */
export function parseContentUsage(value: string): Prefs {
  const prefs: [string, "y" | "n"][] = [];
  for (const [key, member] of parseDictionary(value)) {
    if (member.kind !== "item" || member.value.type !== "token") continue;
    const token = member.value.value;
    if ((token === ALLOW || token === DISALLOW) && key.length <= MAX_CATEGORY_LENGTH) prefs.push([key, token]);
  }
  return fromEntries(prefs.sort(([a], [b]) => (a < b ? -1 : 1))) as Prefs;
}

/**
 * The canonical `Content-Usage` value of a statement (spec §3.3.3): `label=y|n` sorted by label,
 * separated by ", "; "" for the empty statement. Throws {@link PreferenceError} if invalid.
 */
export function formatContentUsage(prefs: Record<string, string>): string {
  const valid = validatePrefs(prefs);
  return sortedEntries(valid)
    .map(([category, value]) => `${category}=${value}`)
    .join(", ");
}

/**
 * Split a robots.txt `Content-Usage` rule value into its path (or null) and statement (spec
 * §3.3.2). Throws {@link StructuredFieldError} if the statement is not a Dictionary.
 */
export function parseRobotsContentUsage(value: string): { path: string | null; prefs: Prefs } {
  let rule = value.split(/[\r\n#]/, 1)[0]!.replace(/^[ \t]+|[ \t]+$/g, "");
  let path: string | null = null;
  if (rule.startsWith("/")) {
    const match = /[ \t]/.exec(rule);
    if (match === null) {
      path = rule;
      rule = "";
    } else {
      path = rule.slice(0, match.index);
      rule = rule.slice(match.index + 1);
    }
  }
  return { path, prefs: parseContentUsage(rule.replace(/^[ \t]+|[ \t]+$/g, "")) };
}

// --- the mapping table (spec §3.4) --------------------------------------------------------------

export type Scheme = "tdmai" | "cawg" | "tdmrep" | "robots" | "content-signals" | "ai-txt" | "rsl" | "plus";
export const SCHEMES: readonly Scheme[] = ["tdmai", "cawg", "tdmrep", "robots", "content-signals", "ai-txt", "rsl", "plus"];

/** One row of the mapping table (spec §3.4.1). */
export interface MappingRow {
  scheme: Scheme;
  key: string;
  category: string;
  reads_n: boolean;
  reads_y: boolean;
  writes_n: boolean;
  writes_y: boolean;
  note: string;
}

function row(scheme: Scheme, key: string, category: string, flags: string, note: string): MappingRow {
  const [rn, ry, wn, wy] = [...flags].map((f) => f === "x") as [boolean, boolean, boolean, boolean];
  return { scheme, key, category, reads_n: rn, reads_y: ry, writes_n: wn, writes_y: wy, note };
}

/** The mapping table of spec §3.4.1, row for row. */
export const MAPPING: readonly MappingRow[] = [
  row("tdmai", "all", "train-ai", "xx--", "automated processing contains AI training"),
  row("tdmai", "all", "search", "xx--", "TDM·AI: opting out of all restricts search too"),
  row("tdmai", "train-ai", "train-ai", "xx--", "any AI training contains generative"),
  row("tdmai", "train-genai", "train-ai", "xxxx", "same scope: generative AI training"),
  row("tdmai", "search", "search", "xxxx", "same scope"),
  row("cawg", "cawg.data_mining", "train-ai", "x---", "a TDM reservation covers training"),
  row("cawg", "cawg.ai_training", "train-ai", "x---", "conservative: related training use"),
  row("cawg", "cawg.ai_generative_training", "train-ai", "xxxx", "same scope"),
  row("tdmrep", "tdm-reservation", "train-ai", "xxx-", "1 reserves all TDM, 0 reserves none"),
  row("robots", "noai", "train-ai", "x-x-", "no AI use of the content"),
  row("robots", "noimageai", "train-ai", "x-x-", "no AI use of images (conservative)"),
  row("robots", "noindex", "search", "x-x-", "not to be shown in search results"),
  row("content-signals", "ai-train", "train-ai", "xxx-", "training or fine-tuning any model"),
  row("content-signals", "search", "search", "xxxx", "same scope"),
  row("ai-txt", "ai.txt", "train-ai", "xxx-", "AI datasets: training of any model"),
  row("rsl", "all", "train-ai", "xx--", "every use contains AI training"),
  row("rsl", "all", "search", "xx--", "every use contains search"),
  row("rsl", "ai-all", "train-ai", "xx--", "every AI use contains AI training"),
  row("rsl", "ai-train", "train-ai", "xxx-", "training or fine-tuning any model"),
  row("rsl", "search", "search", "xxxx", "same scope"),
  row("plus", "DMI-ALLOWED", "train-ai", "-x--", "all data mining allowed"),
  row("plus", "DMI-ALLOWED", "search", "-x--", "all data mining allowed"),
  row("plus", "DMI-PROHIBITED", "train-ai", "x---", "all data mining prohibited"),
  row("plus", "DMI-PROHIBITED", "search", "x---", "indexing is data mining too"),
  row("plus", "DMI-PROHIBITED-AIMLTRAINING", "train-ai", "x---", "any AI/ML training"),
  row("plus", "DMI-PROHIBITED-GENAIMLTRAINING", "train-ai", "x-x-", "same scope"),
  row("plus", "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", "train-ai", "x---", "all but search"),
  row("plus", "DMI-PROHIBITED-SEECONSTRAINT", "train-ai", "x---", "conservative: constrained"),
  row("plus", "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR", "train-ai", "x---", "conservative: terms"),
  row("plus", "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR", "train-ai", "x---", "conservative: terms"),
];

function rows(scheme: Scheme): MappingRow[] {
  return MAPPING.filter((r) => r.scheme === scheme);
}

function importFacts(scheme: Scheme, facts: Map<string, boolean>): Prefs {
  const found: Record<string, string>[] = [];
  for (const r of rows(scheme)) {
    const allowed = facts.get(r.key);
    if (allowed === false && r.reads_n) found.push({ [r.category]: DISALLOW });
    else if (allowed === true && r.reads_y) found.push({ [r.category]: ALLOW });
  }
  return combine(found);
}

function exportFacts(scheme: Scheme, prefs: Record<string, string>): [string, boolean][] {
  const valid = validatePrefs(prefs);
  const out = new Map<string, boolean>();
  for (const r of rows(scheme)) {
    const value = Object.hasOwn(valid, r.category) ? valid[r.category] : undefined;
    if (value === DISALLOW && r.writes_n) out.set(r.key, false);
    else if (value === ALLOW && r.writes_y && !out.has(r.key)) out.set(r.key, true);
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Import a TDM·AI declaration (flat `key: "true"|"false"` object, spec §3.4.2 item 1). */
export function fromTdmai(declaration: Record<string, unknown>): Prefs {
  const keys = new Set(rows("tdmai").map((r) => r.key));
  const facts = new Map<string, boolean>();
  for (const [key, value] of Object.entries(declaration)) {
    if (!keys.has(key)) continue;
    if (value === "true" || value === "false" || typeof value === "boolean") facts.set(key, value === true || value === "true");
    else throw new PreferenceError(`TDM·AI ${JSON.stringify(key)} must be 'true' or 'false'`);
  }
  return importFacts("tdmai", facts);
}

/** Export to TDM·AI keys (`train-genai`, `search`). */
export function toTdmai(prefs: Record<string, string>): Record<string, "true" | "false"> {
  return Object.fromEntries(exportFacts("tdmai", prefs).map(([k, v]) => [k, v ? "true" : "false"]));
}

const CAWG_USE: Record<string, boolean> = { allowed: true, notAllowed: false, constrained: false };

/** Import a CAWG `cawg.training-mining` assertion (`{"entries": {...}}`, spec §3.4.2 item 2). */
export function fromCawg(assertion: Record<string, unknown>): Prefs {
  const entries = assertion["entries"];
  if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
    throw new PreferenceError("training-mining assertion has no 'entries' object");
  }
  const keys = new Set(rows("cawg").map((r) => r.key));
  const facts = new Map<string, boolean>();
  for (const [label, entry] of Object.entries(entries as Record<string, unknown>)) {
    const key = label.startsWith("c2pa.") ? "cawg." + label.slice(5) : label;
    if (!keys.has(key)) continue;
    const use =
      typeof entry === "object" && entry !== null && !Array.isArray(entry) ? (entry as Record<string, unknown>)["use"] : undefined;
    if (typeof use !== "string" || !Object.hasOwn(CAWG_USE, use)) {
      throw new PreferenceError(`training-mining entry ${JSON.stringify(label)} has no valid 'use'`);
    }
    facts.set(key, CAWG_USE[use]! && (facts.get(key) ?? true));
  }
  return importFacts("cawg", facts);
}

/** Export to a CAWG training-mining assertion. */
export function toCawg(prefs: Record<string, string>): { entries: Record<string, { use: string }> } {
  return {
    entries: Object.fromEntries(exportFacts("cawg", prefs).map(([k, v]) => [k, { use: v ? "allowed" : "notAllowed" }])),
  };
}

/** Import W3C TDMRep properties (`tdm-reservation` 1 or 0, number or text; spec §3.4.2 item 3). */
export function fromTdmrep(fields: Record<string, unknown>): Prefs {
  if (!Object.hasOwn(fields, "tdm-reservation")) return {};
  const value = fields["tdm-reservation"];
  const text = typeof value === "number" && Number.isInteger(value) ? String(value) : value;
  if (text === "0" || text === "1") return importFacts("tdmrep", new Map([["tdm-reservation", text === "0"]]));
  throw new PreferenceError("tdm-reservation must be 0 or 1");
}

/** Export to TDMRep: `train-ai=n` -> `{"tdm-reservation": 1}`, else `{}`. */
export function toTdmrep(prefs: Record<string, string>): Record<string, number> {
  return Object.fromEntries(exportFacts("tdmrep", prefs).map(([k]) => [k, 1]));
}

/** Import robots meta / `X-Robots-Tag` directives (`"noindex, noai"`, spec §3.4.2 item 4). */
export function fromRobotsTags(value: string): Prefs {
  const tokens = new Set(value.split(",").map((t) => t.trim().toLowerCase()));
  if (tokens.has("none")) tokens.add("noindex");
  return importFacts("robots", new Map([...tokens].map((t) => [t, false])));
}

/** Export to robots directives, e.g. `"noai, noimageai, noindex"`; "" if none apply. */
export function toRobotsTags(prefs: Record<string, string>): string {
  return exportFacts("robots", prefs)
    .map(([k]) => k)
    .join(", ");
}

/** Import a Cloudflare `Content-Signal` value (`"search=yes, ai-train=no"`, spec §3.4.2 item 5). */
export function fromContentSignals(value: string): Prefs {
  const keys = new Set(rows("content-signals").map((r) => r.key));
  const facts = new Map<string, boolean>();
  for (const entry of value.split(",")) {
    if (!entry.trim()) continue;
    const eq = entry.indexOf("=");
    const name = (eq < 0 ? entry : entry.slice(0, eq)).trim().toLowerCase();
    const signal = (eq < 0 ? "" : entry.slice(eq + 1)).trim().toLowerCase();
    if (eq < 0 || !name) throw new PreferenceError(`content signal ${JSON.stringify(entry.trim())} is not name=value`);
    if (!keys.has(name)) continue;
    if (signal !== "yes" && signal !== "no") throw new PreferenceError(`content signal ${JSON.stringify(name)} must be 'yes' or 'no'`);
    facts.set(name, signal === "yes");
  }
  return importFacts("content-signals", facts);
}

/** Export to a `Content-Signal` value, e.g. `"ai-train=no, search=yes"`. */
export function toContentSignals(prefs: Record<string, string>): string {
  return exportFacts("content-signals", prefs)
    .map(([k, v]) => `${k}=${v ? "yes" : "no"}`)
    .join(", ");
}

/** Import the `ai.txt` rule (Spawning) that applies to an asset: `Disallow` or `Allow` (spec §3.4.2 item 7). */
export function fromAiTxt(rule: string): Prefs {
  const kind = rule.trim().toLowerCase();
  if (kind !== "allow" && kind !== "disallow") throw new PreferenceError(`ai.txt rule must be Allow or Disallow, not ${JSON.stringify(rule)}`);
  return importFacts("ai-txt", new Map([["ai.txt", kind === "allow"]]));
}

/** Export to an `ai.txt` rule: `train-ai=n` -> "Disallow", else "" (no rule). */
export function toAiTxt(prefs: Record<string, string>): string {
  return exportFacts("ai-txt", prefs).length ? "Disallow" : "";
}

const RSL_TOKEN = /^[a-z][a-z-]*$/;

/**
 * Import the usage tokens of an RSL 1.0 `<license>`: `{permits: [...], prohibits: [...]}`. A token
 * both permitted and prohibited is prohibited; `ai-input`, `ai-index` and unknown tokens are ignored.
 */
export function fromRsl(usage: Record<string, unknown>): Prefs {
  const facts = new Map<string, boolean>();
  for (const [member, allowed] of [
    ["permits", true],
    ["prohibits", false],
  ] as const) {
    const tokens = Object.hasOwn(usage, member) ? usage[member] : [];
    if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === "string" && RSL_TOKEN.test(t))) {
      throw new PreferenceError(`RSL ${JSON.stringify(member)} must be a list of usage tokens`);
    }
    for (const token of tokens as string[]) facts.set(token, allowed && (facts.get(token) ?? true));
  }
  return importFacts("rsl", facts);
}

/** Export to RSL usage tokens: `{permits: [...], prohibits: [...]}`, sorted. */
export function toRsl(prefs: Record<string, string>): { permits: string[]; prohibits: string[] } {
  const exported = exportFacts("rsl", prefs);
  return { permits: exported.filter(([, a]) => a).map(([k]) => k), prohibits: exported.filter(([, a]) => !a).map(([k]) => k) };
}

/** The PLUS vocabulary's namespace: values of `plus:DataMining` are `PLUS_VOCAB + code`. */
export const PLUS_VOCAB = "http://ns.useplus.org/ldf/vocab/";

/** Import an IPTC/PLUS `plus:DataMining` value (the vocabulary URI or its code). */
export function fromPlusDataMining(value: string): Prefs {
  let code = value.trim();
  if (code.startsWith(PLUS_VOCAB)) code = code.slice(PLUS_VOCAB.length);
  if (code === "DMI-UNSPECIFIED") return {};
  if (!rows("plus").some((r) => r.key === code)) throw new PreferenceError(`${JSON.stringify(value)} is not a PLUS Data Mining value`);
  return importFacts("plus", new Map([[code, code === "DMI-ALLOWED"]]));
}

/** Export to a `plus:DataMining` value (a PLUS vocabulary URI), or "" if none applies. */
export function toPlusDataMining(prefs: Record<string, string>): string {
  const exported = exportFacts("plus", prefs);
  return exported.length ? PLUS_VOCAB + exported[0]![0] : "";
}
