/**
 * Identity levels and owner-outranks-stranger resolution (spec §9.4). Mirrors the rules of
 * `registry/core/trust.py`.
 *
 * A {@link TrustState} holds declarations (spec §2) and trust records (spec §9.3) and answers, per
 * subject, each principal's claim with its identity level, and which claims count under a policy.
 * The answer is a function of the *set* of records held and of the resolving party's trust
 * configuration (the platform keys and node keys it trusts), never of their arrival order
 * (spec §9.4.8). Nothing here verifies signatures: add records that `loadEntry` accepted, with
 * their id (`recordId` of the entry). With no trust record, every policy gives the claims and
 * preferences of `ConsentState` (spec §3.5), every claim at level `none`.
 */
import { RecordError } from "./errors.js";
import { canonicalJsonText } from "./encoding.js";
import { combine, type Prefs } from "./prefs.js";
import {
  attestedHashes,
  type AnyRecord,
  type CounterStatement,
  type Declaration,
  type PlatformAttestation,
  type Revocation,
  type Rotation,
} from "./records.js";
import { subjectsOf, type Subject } from "./state.js";

/** Which claims count in the combined preferences (spec §9.4.7). */
export type Policy = "any" | "verified" | "verified-only";
export const POLICIES: readonly Policy[] = ["any", "verified", "verified-only"];
/** spec §9.4.7: verified claims outrank unverified ones; with none, every undisputed claim counts. */
export const DEFAULT_POLICY: Policy = "verified";
/** The level of a claim with no identity evidence (spec §9.1). */
export const LEVEL_NONE = "none";

/** One principal's current claim on a subject, with its identity level (spec §9.4.5). */
export interface TrustedClaim {
  /** The key that signed the winning declaration. */
  creator: string;
  /** The first key of the creator's rotation chain (spec §9.4.2). */
  principal: string;
  declaration_id: string;
  issued_at: number;
  prefs: Prefs;
  /** Log origins in which the declaration was seen, sorted. */
  origins: string[];
  /** `none`, `domain:HOST` or `platform:NAME`: the first of `levels`, or `none`. */
  level: string;
  /** Every level found: `domain:` levels first, then `platform:` levels, each in ASCII order (spec §9.1). */
  levels: string[];
  /** Sorted ids of the binding and attestation records behind `levels` (spec §9.5). */
  evidence: string[];
  /** Whether the claim is combined into the preferences under the policy (spec §9.4.7). */
  counted: boolean;
  /** Sorted ids of counter-statements by owners verified for the subject (spec §9.4.6). */
  disputed_by: string[];
}

/** Every claim on a subject and the preferences combined under `policy` (spec §9.4.7). */
export interface TrustedResolution {
  policy: Policy;
  claims: TrustedClaim[];
  prefs: Prefs;
}

/** The resolving party's trust configuration (spec §9.1). */
export interface TrustConfig {
  /** Trusted platform keys (`did:key`) and the name each has in `platform:NAME` levels. */
  platforms?: Readonly<Record<string, string>> | ReadonlyMap<string, string> | undefined;
  /** The node keys whose bindings the resolving party trusts. */
  nodes?: Iterable<string> | undefined;
}

/**
 * The DNS host of a normalised URL (spec §2.5) without port or trailing dot, or `null` for an IP
 * literal, which no domain binding covers (spec §9.4.4).
 */
export function urlHost(url: string): string | null {
  const authority = url.slice(url.indexOf("://") + 3).split("/", 1)[0]!;
  if (authority.startsWith("[")) return null;
  const colon = authority.lastIndexOf(":");
  let host = colon >= 0 ? authority.slice(0, colon) : authority;
  if (host.endsWith(".")) host = host.slice(0, -1);
  return /^[0-9.]*$/.test(host) ? null : host;
}

// spec §9.4.4: a binding to a domain covers the domain and its subdomains
const within = (host: string, domain: string): boolean => host === domain || host.endsWith(`.${domain}`);

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

const subjectKey = (subject: Subject): string => `${subject[0]}\u0000${subject[1]}`;

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(value);
}

/**
 * What the keys' own records say about them (spec §9.4.1, §9.4.2): revocation times and accepted
 * rotations. Recomputed when a revocation, rotation or attestation arrives.
 */
class KeyHistory {
  /** key -> revocation time */
  private readonly revoked = new Map<string, number>();
  /** old key -> [new key, when it handed over] */
  private readonly successor = new Map<string, readonly [string, number]>();
  /** new key -> old key */
  private readonly predecessor = new Map<string, string>();

  constructor(
    revocations: Iterable<Revocation>,
    rotations: ReadonlyMap<string, Rotation>,
    /** key -> trusted platform keys that attested it */
    attestedBy: ReadonlyMap<string, ReadonlySet<string>>,
  ) {
    // spec §9.4.1: a revocation counts if signed by the revoked key itself, or by a trusted
    // platform that attested that key; the least `since` is the key's revocation time.
    for (const r of revocations) {
      if (r.creator === r.key || attestedBy.get(r.key)?.has(r.creator)) {
        this.revoked.set(r.key, Math.min(this.revoked.get(r.key) ?? Infinity, r.since));
      }
    }
    // spec §9.4.2: rotations in (issued_at, id) order; a key rotates at most once and is rotated
    // to at most once, no cycles, and a rotation its old key signed once revoked does not count.
    const ordered = [...rotations].sort(([idA, a], [idB, b]) => a.issued_at - b.issued_at || compare(idA, idB));
    for (const [, rotation] of ordered) {
      const { creator: old, new_key: next, issued_at: at } = rotation;
      if (at >= this.revocationTime(old) || this.successor.has(old) || this.predecessor.has(next) || this.chain(old).includes(next)) {
        continue;
      }
      this.successor.set(old, [next, at]);
      this.predecessor.set(next, old);
    }
  }

  private revocationTime(key: string): number {
    return this.revoked.get(key) ?? Infinity;
  }

  /** `key` and its predecessors, newest first. */
  chain(key: string): string[] {
    const out = [key];
    for (let k = this.predecessor.get(key); k !== undefined; k = this.predecessor.get(k)) out.push(k);
    return out;
  }

  /** The first key of `key`'s rotation chain (spec §9.4.2). */
  principal(key: string): string {
    return this.chain(key).at(-1)!;
  }

  /** Whether what `key` signed at `issuedAt` counts: not revoked, not retired (spec §9.4.1, §9.4.2). */
  counts(key: string, issuedAt: number): boolean {
    if (issuedAt >= this.revocationTime(key)) return false;
    const successor = this.successor.get(key);
    return successor === undefined || issuedAt <= successor[1];
  }
}

interface Held {
  record: AnyRecord;
  origins: Set<string>;
}

interface Levels {
  levels: string[];
  evidence: string[];
}

/**
 * Declarations and trust records, resolved with identity levels (spec §9.4). The configuration
 * names the platforms and nodes the resolving party trusts (spec §9.1); two parties with the same
 * records and configuration get the same answers.
 */
export class TrustState {
  private readonly platforms: ReadonlyMap<string, string>;
  private readonly nodes: ReadonlySet<string>;
  private readonly held = new Map<string, Held>();
  /** subject -> ids of declarations mentioning it */
  private readonly bySubject = new Map<string, Set<string>>();
  /** declaration id -> ids of declarations listing it in `supersedes` */
  private readonly supersededBy = new Map<string, Set<string>>();
  private readonly revocations = new Map<string, Revocation>();
  private readonly rotations = new Map<string, Rotation>();
  /** creator key -> platform keys that attested it */
  private readonly attestedBy = new Map<string, Set<string>>();
  /** subject -> ids of attestations listing it */
  private readonly attestations = new Map<string, Set<string>>();
  /** creator key -> domain -> ids of bindings */
  private readonly bindings = new Map<string, Map<string, Set<string>>>();
  /** declaration id -> ids of counter-statements about it */
  private readonly counters = new Map<string, Set<string>>();
  private history: KeyHistory | undefined;

  constructor(config: TrustConfig = {}) {
    const platforms = config.platforms ?? {};
    this.platforms = new Map(platforms instanceof Map ? platforms : Object.entries(platforms));
    this.nodes = new Set(config.nodes ?? []);
  }

  /** How many distinct records the state holds. */
  get size(): number {
    return this.held.size;
  }

  /**
   * Add a verified record seen in the log `origin`, with its id (64 lowercase hex); true if it
   * was not known before. Adding it again only records another origin. Throws
   * {@link RecordError} for a malformed id or an id already bound to a different record.
   */
  add(record: AnyRecord, id: string, origin: string): boolean {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new RecordError("a record id is 64 lowercase hex digits (spec §2.9)");
    const known = this.held.get(id);
    if (known !== undefined) {
      if (canonicalJsonText(known.record) !== canonicalJsonText(record)) {
        throw new RecordError(`record ${id} is bound to another record`);
      }
      known.origins.add(origin);
      return false;
    }
    this.held.set(id, { record, origins: new Set([origin]) });
    switch (record.type) {
      case "declaration":
        for (const subject of subjectsOf(record)) addTo(this.bySubject, subjectKey(subject), id);
        for (const target of record.supersedes ?? []) addTo(this.supersededBy, target, id);
        break;
      case "platform-attestation":
        addTo(this.attestedBy, record.creator, record.platform);
        for (const subject of attestedSubjects(record)) addTo(this.attestations, subjectKey(subject), id);
        this.history = undefined;
        break;
      case "binding": {
        let domains = this.bindings.get(record.creator);
        if (domains === undefined) this.bindings.set(record.creator, (domains = new Map()));
        addTo(domains, record.domain, id);
        break;
      }
      case "rotation":
        this.rotations.set(id, record);
        this.history = undefined;
        break;
      case "revocation":
        this.revocations.set(id, record);
        this.history = undefined;
        break;
      case "counter-statement":
        addTo(this.counters, record.target, id);
        break;
    }
    return true;
  }

  private keys(): KeyHistory {
    if (this.history === undefined) {
      const trusted = new Map<string, Set<string>>();
      for (const [key, platforms] of this.attestedBy) {
        trusted.set(key, new Set([...platforms].filter((p) => this.platforms.has(p))));
      }
      this.history = new KeyHistory(this.revocations.values(), this.rotations, trusted);
    }
    return this.history;
  }

  private record<T extends AnyRecord["type"]>(id: string, type: T): Extract<AnyRecord, { type: T }> {
    const record = this.held.get(id)!.record;
    if (record.type !== type) throw new Error(`internal: ${id} is indexed as a ${type}`);
    return record as Extract<AnyRecord, { type: T }>;
  }

  /**
   * The id of a trusted binding of `key` to `domain` covering a statement made at `at`, or
   * undefined (spec §9.4.3).
   */
  private covering(key: string, domain: string, at: number): string | undefined {
    // events ordered by time, then a lapse after a bind of the same second, then by id
    const events = [...(this.bindings.get(key)?.get(domain) ?? [])]
      .map((id) => [id, this.record(id, "binding")] as const)
      .filter(([, b]) => this.nodes.has(b.node))
      .map(([id, b]) => ({ id, at: b.issued_at, lapsed: b.lapsed === true }))
      .sort((x, y) => x.at - y.at || Number(x.lapsed) - Number(y.lapsed) || compare(x.id, y.id));
    const inForce = (when: number): string | undefined => {
      let last: string | undefined;
      for (const event of events) {
        if (event.at > when) break;
        last = event.lapsed ? undefined : event.id;
      }
      return last;
    };
    const now = inForce(at);
    if (now !== undefined) return now;
    // a later bind vouches for what was said before it
    for (const event of events) {
      if (event.at > at && !event.lapsed) {
        const then = inForce(event.at);
        if (then !== undefined) return then;
      }
    }
    return undefined;
  }

  /** The levels and evidence of `key` (with its predecessors) for `subject` (spec §9.4.4). */
  private levelsOf(key: string, subject: Subject, at: number, hosts: readonly string[]): Levels {
    const chain = this.keys().chain(key);
    const levels = new Set<string>();
    const evidence = new Set<string>();
    for (const host of new Set(hosts)) {
      for (const member of chain) {
        for (const domain of this.bindings.get(member)?.keys() ?? []) {
          if (!within(host, domain)) continue;
          const binding = this.covering(member, domain, at);
          if (binding === undefined) continue;
          levels.add(`domain:${domain}`);
          evidence.add(binding);
        }
      }
    }
    for (const id of this.attestations.get(subjectKey(subject)) ?? []) {
      const attestation = this.record(id, "platform-attestation");
      const name = this.platforms.get(attestation.platform);
      if (name !== undefined && chain.includes(attestation.creator)) {
        levels.add(`platform:${name}`);
        evidence.add(id);
      }
    }
    const rank = (level: string): number => (level.startsWith("domain:") ? 0 : 1);
    return {
      levels: [...levels].sort((a, b) => rank(a) - rank(b) || compare(a, b)),
      evidence: [...evidence].sort(),
    };
  }

  /**
   * Every principal's claim on `subject` with its identity level, and the preferences combined
   * under `policy` (spec §9.4.5 to §9.4.7). Throws {@link RecordError} for an unknown policy.
   */
  resolve(subject: Subject, policy: Policy = DEFAULT_POLICY): TrustedResolution {
    if (!POLICIES.includes(policy)) {
      throw new RecordError(`unknown policy ${JSON.stringify(policy)}; one of ${POLICIES.join(", ")}`);
    }
    const keys = this.keys();
    const counts = (d: Declaration): boolean => keys.counts(d.creator, d.issued_at);
    // spec §3.5.2, §3.5.3 as amended by §9.4.2: per principal, the greatest (issued_at, id)
    // among the declarations that count and are not superseded by one of the same principal
    // that counts
    const winners = new Map<string, { id: string; record: Declaration }>();
    for (const id of this.bySubject.get(subjectKey(subject)) ?? []) {
      const record = this.record(id, "declaration");
      if (!counts(record)) continue;
      const principal = keys.principal(record.creator);
      const superseded = [...(this.supersededBy.get(id) ?? [])].some((by) => {
        const later = this.record(by, "declaration");
        return keys.principal(later.creator) === principal && counts(later);
      });
      if (superseded) continue;
      const best = winners.get(principal);
      if (best === undefined || record.issued_at > best.record.issued_at || (record.issued_at === best.record.issued_at && id > best.id)) {
        winners.set(principal, { id, record });
      }
    }
    const drafts = [...winners]
      .filter(([, w]) => !w.record.withdraw)
      .sort(([a], [b]) => compare(a, b))
      .map(([principal, { id, record }]) => ({
        principal,
        id,
        record,
        ...this.levelsOf(record.creator, subject, record.issued_at, hostsOf(record, subject)),
        disputedBy: this.disputes(id, subject),
      }));
    const someVerified = drafts.some((d) => d.levels.length > 0);
    const claims = drafts.map((d): TrustedClaim => {
      // spec §9.4.7: which claims count under the policy
      const verified = d.levels.length > 0;
      const counted = policy === "any" || verified || (policy === "verified" && !someVerified && d.disputedBy.length === 0);
      return {
        creator: d.record.creator,
        principal: d.principal,
        declaration_id: d.id,
        issued_at: d.record.issued_at,
        prefs: Object.fromEntries(Object.entries(d.record.prefs).sort(([a], [b]) => compare(a, b))) as Prefs,
        origins: [...this.held.get(d.id)!.origins].sort(),
        level: d.levels[0] ?? LEVEL_NONE,
        levels: d.levels,
        evidence: d.evidence,
        counted,
        disputed_by: d.disputedBy,
      };
    });
    return { policy, claims, prefs: combine(claims.filter((c) => c.counted).map((c) => c.prefs)) };
  }

  /** Counter-statements about a declaration shown on its claim for `subject` (spec §9.4.6). */
  private disputes(declarationId: string, subject: Subject): string[] {
    const keys = this.keys();
    const target = this.record(declarationId, "declaration");
    // a domain owner disputes by URL; a sha256 subject has no host
    const host = subject[0] === "url" ? urlHost(subject[1]) : null;
    const hosts = host === null ? [] : [host];
    return [...(this.counters.get(declarationId) ?? [])]
      .filter((id) => {
        const counter: CounterStatement = this.record(id, "counter-statement");
        return (
          keys.counts(counter.creator, counter.issued_at) &&
          keys.principal(counter.creator) !== keys.principal(target.creator) &&
          this.levelsOf(counter.creator, subject, counter.issued_at, hosts).levels.length > 0
        );
      })
      .sort();
  }
}

/** The DNS hosts that can verify `record`'s claim on `subject` (spec §9.4.4). */
function hostsOf(record: Declaration, subject: Subject): string[] {
  const urls = subject[0] === "url" ? [subject[1]] : record.works.filter((w) => w.sha256 === subject[1]).flatMap((w) => w.urls ?? []);
  return urls.map(urlHost).filter((host): host is string => host !== null);
}

/** The subjects an attestation lists (spec §9.4.4): its packed hashes, its works' digests and URLs. */
function attestedSubjects(record: PlatformAttestation): Subject[] {
  const subjects: Subject[] = attestedHashes(record).map((digest): Subject => ["sha256", digest]);
  for (const work of record.works ?? []) {
    subjects.push(["sha256", work.sha256]);
    for (const url of work.urls ?? []) subjects.push(["url", url]);
  }
  return subjects;
}
