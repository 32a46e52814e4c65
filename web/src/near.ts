// The near-duplicate look-up of an image (spec §6.8.3 item 6, the recommended check): every query
// hash asked at its own distance (one request per distance, in batches the node accepts), then
// only the matches that stand kept, as the Python SDK's check_pdq_copies keeps them:
// - each hash's matches within the distance it stands at on its own; a flip or rotation beyond 8
//   bits only for a work that 2 of that flip's crops also match; those crops never on their own;
// - a match farther than 16 bits is dropped when every declaration listing the work gives it a
//   PDQ quality below 70 (read with GET /v1/declarations/{id}, only for such matches).
import { api, ApiError, type DeclarationView, type NearMatch, type NearResult } from "./api";
import { combinePrefs, PDQ_WEAK_DISTANCE, pdqDeclaredQualityStands, pdqQueryByDistance, pdqStandingMatches, type PdqQuery } from "./protocol";

/** How many requests are in flight at once (a browser opens about 6 connections per host). */
const PARALLEL = 4;

/** How far the look-up has gone: requests answered of those known so far. */
export type Progress = (done: number, total: number) => void;

/** Runs `tasks` at most {@link PARALLEL} at a time, in order, reporting each one answered. */
async function pooled<T>(tasks: (() => Promise<T>)[], progress: () => void): Promise<T[]> {
  const out = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
      progress();
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, tasks.length) }, worker));
  return out;
}

/**
 * (declaration id, work SHA-256) -> the declared `pdq_quality`, from each declaration as the node
 * serves it (its `record` is the declaration itself); a declaration that is missing or does not
 * read as one says nothing, so its matches stand (the SDK's `_declared_qualities`).
 */
function declaredQualities(views: (DeclarationView | null)[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const view of views) {
    const record = view?.record as { type?: unknown; works?: unknown } | undefined;
    if (record?.type !== "declaration" || !Array.isArray(record.works)) continue;
    for (const work of record.works as { sha256?: unknown; pdq_quality?: unknown }[]) {
      if (typeof work?.sha256 === "string" && Number.isInteger(work.pdq_quality)) {
        out.set(`${view!.id} ${work.sha256}`, work.pdq_quality as number);
      }
    }
  }
  return out;
}

/**
 * One result for an image asked about by all its query hashes: each declared work whose match
 * stands, once, at its smallest distance, nearest first; `prefs` combines theirs (any disallow
 * wins, spec §3.2). `progress` hears of each request answered.
 */
export async function nearCopies(query: PdqQuery, progress: Progress = () => {}): Promise<NearResult> {
  const info = await api.info();
  const batch = Math.max(1, info.limits.max_near_batch);
  const asked: string[][] = [];
  const tasks: (() => Promise<NearResult[]>)[] = [];
  for (const [distance, hashes] of pdqQueryByDistance(query)) {
    for (let i = 0; i < hashes.length; i += batch) {
      const chunk = hashes.slice(i, i + batch);
      asked.push(chunk);
      tasks.push(() => api.checkPdq(chunk, distance));
    }
  }
  let done = 0;
  let total = tasks.length;
  progress(done, total);
  const tick = () => progress(++done, total);
  const answers = await pooled(tasks, tick);
  const byHash = new Map<string, NearMatch[]>();
  asked.forEach((chunk, i) => chunk.forEach((hash, j) => byHash.set(hash, answers[i]![j]?.matches ?? [])));
  const best = new Map<string, NearMatch>();
  for (const matches of pdqStandingMatches(query, byHash).values()) {
    for (const match of matches) {
      const seen = best.get(match.sha256);
      if (seen === undefined || match.distance < seen.distance) best.set(match.sha256, match);
    }
  }
  // The declarations of every match farther than the weak distance: their image's quality
  // decides whether it stands (rare; a declaration the node does not serve says nothing).
  const far = new Set([...best.values()].filter((m) => m.distance > PDQ_WEAK_DISTANCE).flatMap((m) => m.declarations));
  total += far.size;
  const read = (id: string) => () => api.declaration(id).catch((err: unknown) => (err instanceof ApiError ? null : Promise.reject(err)));
  const views = await pooled([...far].sort().map(read), tick);
  const qualities = declaredQualities(views);
  const matches = [...best.values()]
    .filter((m) => pdqDeclaredQualityStands(m, (d, sha256) => qualities.get(`${d} ${sha256}`)))
    .sort((a, b) => a.distance - b.distance || (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  return { pdq: query.pdq, prefs: combinePrefs(matches.map((m) => m.prefs)), matches };
}
