/**
 * Deterministic consent state (spec §3.5): which declarations are current per subject, and the
 * resolution of a subject (claims per creator, combined preferences). Mirrors the rules of
 * `registry/core/state.py`; the answer depends only on the set of declarations added, never on
 * their order or on duplicates (spec §3.5.6). Nothing here verifies signatures: add records that
 * `loadRecord` accepted, with their id (`recordId` of the entry).
 */
import { RecordError } from "./errors.js";
import { combine, DISALLOW, type Prefs } from "./prefs.js";
import type { Declaration } from "./records.js";

/** A subject (spec §3.5.1): a work's SHA-256 or a normalised URL. */
export type Subject = ["sha256", string] | ["url", string];

/** One creator's current claim on a subject (spec §3.5.4). */
export interface Claim {
  creator: string;
  declaration_id: string;
  issued_at: number;
  prefs: Prefs;
  /** Log origins in which the declaration was seen, sorted (spec §3.5.5). */
  origins: string[];
  /** The creator is identity-verified by the resolving party (spec §3.5.7). */
  verified: boolean;
}

/** Everything known about one subject (spec §3.5.4). */
export interface Resolution {
  claims: Claim[];
  prefs: Prefs;
}

/**
 * True if the resolution reserves `category` (its combined preference is "n"): a
 * {@link Resolution}, or a `TrustedResolution` (spec §9.4.7).
 */
export function isReserved(resolution: { readonly prefs: Prefs }, category = "train-ai"): boolean {
  return resolution.prefs[category] === DISALLOW;
}

const subjectId = (s: Subject): string => `${s[0]}\u0000${s[1]}`;

/** The subjects a declaration mentions (spec §3.5.1), in work order, without duplicates. */
export function subjectsOf(record: Declaration): Subject[] {
  const out = new Map<string, Subject>();
  for (const work of record.works) {
    const s: Subject = ["sha256", work.sha256];
    out.set(subjectId(s), s);
    for (const url of work.urls ?? []) out.set(subjectId(["url", url]), ["url", url]);
  }
  return [...out.values()];
}

interface Entry {
  id: string;
  record: Declaration;
  origins: Set<string>;
}

/** A set of accepted declarations, resolved per subject (spec §3.5). */
export class ConsentState {
  private readonly byId = new Map<string, Entry>();
  private readonly bySubject = new Map<string, Set<string>>();
  /** id -> creators whose declarations list it in `supersedes` (spec §3.5.2) */
  private readonly listedBy = new Map<string, Set<string>>();

  /** @param verifiedCreators DIDs the resolving party holds as identity-verified (spec §3.5.7). */
  constructor(private readonly verifiedCreators: ReadonlySet<string> = new Set()) {}

  /**
   * Add an accepted declaration with its id (64 lowercase hex) and the origin of the log it was
   * read from. Adding the same declaration again only records another origin. Throws
   * {@link RecordError} for an id that is not 64 lowercase hex digits.
   */
  add(record: Declaration, id: string, origin: string): void {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new RecordError("a declaration id is 64 lowercase hex digits (spec §2.9)");
    const existing = this.byId.get(id);
    if (existing) {
      existing.origins.add(origin);
      return;
    }
    this.byId.set(id, { id, record, origins: new Set([origin]) });
    for (const listed of record.supersedes ?? []) {
      if (!this.listedBy.has(listed)) this.listedBy.set(listed, new Set());
      this.listedBy.get(listed)!.add(record.creator);
    }
    for (const s of subjectsOf(record)) {
      const key = subjectId(s);
      if (!this.bySubject.has(key)) this.bySubject.set(key, new Set());
      this.bySubject.get(key)!.add(id);
    }
  }

  private superseded(id: string): boolean {
    // spec §3.5.2: D is superseded if a declaration of the same creator lists D's id
    return this.listedBy.get(id)?.has(this.byId.get(id)!.record.creator) ?? false;
  }

  /** Every subject some declaration mentions. */
  subjects(): Subject[] {
    return [...this.bySubject.keys()].map((k) => {
      const at = k.indexOf("\u0000");
      return [k.slice(0, at), k.slice(at + 1)] as Subject;
    });
  }

  /** The resolution of a subject (spec §3.5.3, §3.5.4); empty when nothing is known. */
  resolve(subject: Subject): Resolution {
    const winners = new Map<string, Entry>();
    for (const id of this.bySubject.get(subjectId(subject)) ?? []) {
      if (this.superseded(id)) continue;
      const entry = this.byId.get(id)!;
      const best = winners.get(entry.record.creator);
      const greater =
        best === undefined ||
        entry.record.issued_at > best.record.issued_at ||
        (entry.record.issued_at === best.record.issued_at && entry.id > best.id);
      if (greater) winners.set(entry.record.creator, entry);
    }
    const claims: Claim[] = [...winners.values()]
      .filter((e) => !e.record.withdraw)
      .sort((a, b) => (a.record.creator < b.record.creator ? -1 : a.record.creator > b.record.creator ? 1 : 0))
      .map((e) => ({
        creator: e.record.creator,
        declaration_id: e.id,
        issued_at: e.record.issued_at,
        prefs: { ...e.record.prefs },
        origins: [...e.origins].sort(),
        verified: this.verifiedCreators.has(e.record.creator),
      }));
    return { claims, prefs: combine(claims.map((c) => c.prefs)) };
  }
}
