// The near-duplicate look-up of an image (spec §6.8.3 item 6, the recommended check): every query
// hash asked at its own distance (one request per distance, in batches the node accepts), the
// answers merged into one result as the Python SDK's check_pdq_copies merges them.
import { api, type NearMatch, type NearResult } from "./api";
import { combinePrefs, pdqQueryByDistance, type PdqQuery } from "./protocol";

/**
 * One result for an image asked about by all its query hashes: each declared work once, at its
 * smallest distance, nearest first; `prefs` combines every matching work's, listed or not (each
 * answer's own `prefs` already does: any disallow wins, spec §3.2).
 */
export async function nearCopies(query: PdqQuery): Promise<NearResult> {
  const info = await api.info();
  const batch = Math.max(1, info.limits.max_near_batch);
  const requests: Promise<NearResult[]>[] = [];
  for (const [distance, hashes] of pdqQueryByDistance(query)) {
    for (let i = 0; i < hashes.length; i += batch) requests.push(api.checkPdq(hashes.slice(i, i + batch), distance));
  }
  const results = (await Promise.all(requests)).flat();
  const best = new Map<string, NearMatch>();
  for (const result of results) {
    for (const match of result.matches) {
      const seen = best.get(match.sha256);
      if (seen === undefined || match.distance < seen.distance) best.set(match.sha256, match);
    }
  }
  const matches = [...best.values()].sort((a, b) => a.distance - b.distance || (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
  return { pdq: query.pdq, prefs: combinePrefs(results.map((r) => r.prefs)), matches };
}
