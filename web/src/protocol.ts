// The one place the app reaches the protocol: everything here comes from the TypeScript
// implementation in clients/js (`@consent-registry/protocol`, bundled from its sources), plus
// the app-level packing of works into declarations, which mirrors the Python SDK's
// pack_declarations (clients/python/consent/creator.py, spec §2.10).
import {
  bytesToHex,
  canonicalJson,
  combine,
  createSha256,
  entrySize,
  encodeRecord,
  MAX_ENTRY_BYTES,
  MAX_WORKS,
  newDeclaration,
  newWork,
  NoteVerifier,
  openCheckpoint,
  declaredPdqVariants,
  pdqHash,
  pdqQueryHashes,
  type PdqQuery,
  type PdqResult,
  PrivateKey,
  recordId,
  signDeclaration,
  verifyReceipt,
  type Work,
} from "@consent-registry/protocol";

export { b64decode, b64encode, canonicalJson, PrivateKey, PublicKey } from "@consent-registry/protocol";
export type { PdqQuery, PdqResult } from "@consent-registry/protocol";
export { PDQ_WEAK_DISTANCE, pdqDeclaredQualityStands, pdqQueryByDistance, pdqStandingMatches } from "@consent-registry/protocol";

export interface WorkInput {
  sha256: string;
  pdq?: string;
  pdq_quality?: number;
  pdq_variants?: string[];
}

export interface Planned {
  /** The entry: the signed declaration's canonical JSON text. */
  entry: string;
  id: string;
  /** The SHA-256s of its works. */
  works: string[];
}

/**
 * Sign `works` into as few declarations as the limits allow (spec §2.6, §2.10): works in SHA-256
 * order, added while the signed entry stays within MAX_ENTRY_BYTES and MAX_WORKS.
 */
export function planDeclarations(
  key: PrivateKey,
  works: WorkInput[],
  options: { prefs: Record<string, "y" | "n">; issuedAt: number; supersedes?: string[]; withdraw?: boolean },
): Planned[] {
  const unique = new Map(works.map((w) => [w.sha256, newWork(w)]));
  const ordered = [...unique.values()].sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  if (ordered.length === 0) return [];
  const build = (group: Work[]) =>
    newDeclaration({
      creator: key.publicKey.did,
      issued_at: options.issuedAt,
      works: group,
      prefs: options.prefs,
      supersedes: [...new Set(options.supersedes ?? [])].sort(),
      withdraw: options.withdraw ?? false,
    });
  const workSize = (w: Work) => canonicalJson(w).length;
  const overhead = entrySize(build([ordered[0]!])) - workSize(ordered[0]!);
  const groups: Work[][] = [[]];
  let size = overhead;
  for (const work of ordered) {
    const last = groups[groups.length - 1]!;
    const cost = workSize(work) + (last.length > 0 ? 1 : 0);
    if (last.length > 0 && (size + cost > MAX_ENTRY_BYTES || last.length >= MAX_WORKS)) {
      groups.push([work]);
      size = overhead + workSize(work);
    } else {
      last.push(work);
      size += cost;
    }
  }
  return groups.map((group) => {
    const entry = encodeRecord(signDeclaration(build(group), key));
    return { entry: new TextDecoder().decode(entry), id: recordId(entry), works: group.map((w) => w.sha256) };
  });
}

/** Preferences of several statements about one asset combined: any disallow wins (spec §3.2). */
export function combinePrefs(prefsList: Iterable<Record<string, string>>): Record<string, string> {
  return combine(prefsList);
}

/** Lowercase hex SHA-256 of a stream, fed in chunks (a 12-megapixel photo is never copied whole). */
export async function sha256Stream(stream: ReadableStream<Uint8Array>): Promise<string> {
  const hasher = createSha256();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
  }
  const digest = hasher.digest();
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * PDQ hash and quality of RGBA pixels (clients/js pdqHash, spec §2.4), and the PDQ hashes of the
 * image's 16 anchored crops a declaration carries as `pdq_variants` (spec §2.4, ADR 0011; none
 * if the quality is below 50), exactly as the Python SDK computes them on the same pixels.
 */
export function fingerprintPixels(rgba: Uint8ClampedArray, width: number, height: number): PdqResult & { variants: string[] } {
  // A Uint8Array view of the canvas's bytes: the crops are Uint8Arrays too, so the hashing code
  // sees one array type (faster in V8) and the bytes are not copied.
  const image = { data: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength), width, height };
  const own = pdqHash(image);
  return { ...own, variants: declaredPdqVariants(image, own.hash, own.quality) };
}

/**
 * The PDQ hashes to ask about an image whose own PDQ is `own`, each with its distance: the
 * recommended check of spec §6.8.3 item 6 (flips and rotations, border trim, cuts lined up with
 * declared crops), as the Python SDK's `pdq_query_of_bytes` asks them.
 */
export function queryPixels(rgba: Uint8ClampedArray, width: number, height: number, own: PdqResult): PdqQuery {
  return pdqQueryHashes({ data: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength), width, height }, own);
}

export interface CheckpointSummary {
  origin: string;
  size: number;
  rootHash: string;
  cosignatures: { name: string; timestamp: number | null }[];
}

/**
 * Verify a checkpoint note under the node's verifier key, and the cosignatures of the given
 * witness keys (spec §5.7, clients/js openCheckpoint). Throws the package's ProtocolError.
 */
export function verifyCheckpointNote(note: string, verifierKey: string, witnessKeys: string[] = []): CheckpointSummary {
  const witnesses = witnessKeys.map((k) => NoteVerifier.fromVkey(k));
  const signed = openCheckpoint(new TextEncoder().encode(note), NoteVerifier.fromVkey(verifierKey), { witnesses });
  return {
    origin: signed.checkpoint.origin,
    size: signed.checkpoint.size,
    rootHash: bytesToHex(signed.checkpoint.rootHash),
    cosignatures: signed.cosignatures.map((c) => ({ name: c.name, timestamp: c.timestamp })),
  };
}

/** Verify a tlog-proof receipt for `entry` under `verifierKey` (spec §5.8.2, clients/js). */
export function verifyReceiptFor(
  entry: Uint8Array,
  receipt: string,
  verifierKey: string,
): { index: number; origin: string; treeSize: number } {
  const verified = verifyReceipt(receipt, entry, NoteVerifier.fromVkey(verifierKey));
  const checkpoint = verified.signedCheckpoint.checkpoint;
  return { index: verified.index, origin: checkpoint.origin, treeSize: checkpoint.size };
}
