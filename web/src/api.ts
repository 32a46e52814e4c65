// The node's HTTP API as the app uses it (spec/06-http-api.md). The app is served by the node
// itself, so every path is relative to the page's origin; no other host is ever contacted.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    detail: string,
  ) {
    super(detail);
    this.name = "ApiError";
  }
}

async function send(path: string, init?: RequestInit): Promise<Response> {
  const response = await fetch(path, { ...init, cache: "no-store" });
  if (!response.ok) {
    // RFC 9457 problem details (spec §6.10.1): show the node's own explanation.
    let detail = `${response.status} ${response.statusText}`;
    let type = "";
    try {
      const problem = (await response.json()) as { detail?: string; title?: string; type?: string };
      detail = problem.detail ?? problem.title ?? detail;
      type = problem.type ?? "";
    } catch {
      // not a problem document: keep the status line
    }
    throw new ApiError(response.status, type, detail);
  }
  return response;
}

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  return (await (await send(path, init)).json()) as T;
}

export interface NodeInfo {
  origin: string;
  verifier_key: string;
  protocol_version: number;
  software: string;
  version: string;
  witness_key?: string | null;
  limits: { max_batch_items: number; max_near_batch: number; max_body_size: number };
}

export interface Claim {
  creator: string;
  declaration: string;
  issued_at: number;
  prefs: Record<string, string>;
  origin: string;
  origins: string[];
  verified: boolean;
  flagged: boolean;
}

export interface Work {
  sha256?: string;
  url?: string;
  prefs: Record<string, string>;
  content_usage: string;
  claims: Claim[];
  declarations: string[];
}

export interface NearMatch {
  sha256: string;
  pdq: string;
  distance: number;
  prefs: Record<string, string>;
  declarations: string[];
  claims: Claim[];
}

export interface NearResult {
  pdq: string;
  prefs: Record<string, string>;
  matches: NearMatch[];
  more_matches?: number;
}

export interface DeclarationView {
  id: string;
  index: number;
  origin: string;
  record: unknown;
  receipt: string;
  checkpoint: string;
  origins: string[];
  flagged: boolean;
}

export interface SubmitItem {
  status: number;
  id?: string;
  index?: number;
  receipt?: string;
  duplicate?: boolean;
  problem?: { detail?: string; title?: string; type?: string };
}

export interface BatchAnswer {
  accepted: number;
  duplicates: number;
  rejected: number;
  results: SubmitItem[];
}

export interface CreatorDeclaration {
  id: string;
  status: "current" | "overridden" | "superseded";
  issued_at: number;
  withdraw: boolean;
  prefs: Record<string, string>;
  works: string[];
  supersedes: string[];
  superseded_by: string[];
}

export interface CreatorView {
  creator: string;
  verified: boolean;
  declarations: CreatorDeclaration[];
}

export interface PeerView {
  origin: string;
  url: string;
  verifier_key: string;
  witness_key: string | null;
  verified_size: number;
  seen_size: number;
  lag: number;
  cosigned_size: number;
  last_error: string | null;
  last_success: number | null;
  flagged: boolean;
  evidence: number;
}

export const api = {
  info: () => json<NodeInfo>("/.well-known/consent-registry"),
  checkpoint: async () => (await send("/checkpoint")).text(),
  peers: async () => {
    const answer = await json<{ peers: PeerView[] } | PeerView[]>("/v1/peers");
    return Array.isArray(answer) ? answer : answer.peers;
  },
  workBySha256: (sha256: string) => json<Work>(`/v1/works/sha256/${encodeURIComponent(sha256)}`),
  workByUrl: (url: string) => json<Work>(`/v1/works/url?url=${encodeURIComponent(url)}`),
  workByPdq: (pdq: string) => json<NearResult>(`/v1/works/pdq/${encodeURIComponent(pdq)}`),
  /** Near-duplicates of several PDQ hashes within `maxDistance` bits, one result per hash (§6.8.3). */
  checkPdq: async (hashes: string[], maxDistance: number): Promise<NearResult[]> =>
    (
      await json<{ results: NearResult[] }>("/v1/check/pdq", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ hashes, max_distance: maxDistance }),
      })
    ).results,
  declaration: (id: string) => json<DeclarationView>(`/v1/declarations/${encodeURIComponent(id)}`),
  creator: (did: string) => json<CreatorView>(`/v1/creators/${encodeURIComponent(did)}`),
  /** Submit declarations: each element is the exact canonical JSON text of one (spec §6.4.2). */
  submitBatch: async (entries: string[]): Promise<BatchAnswer> => {
    const body = `{"declarations":[${entries.join(",")}]}`;
    return json<BatchAnswer>("/v1/declarations:batch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
  },
};
