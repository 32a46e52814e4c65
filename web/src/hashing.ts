// A small pool of hashing workers (hashing.worker.ts): files in, fingerprints out, in order of
// completion, with the main thread free to paint progress.

declare const __HASHING_WORKER__: string;

import type { PdqQuery } from "./protocol";

export interface HashRequest {
  id: number;
  file: File;
  /** Also compute the query hashes of the recommended near-duplicate check (a look-up). */
  query: boolean;
}

export type HashReply =
  | {
      id: number;
      ok: true;
      sha256: string;
      pdq: string | null;
      quality: number | null;
      variants: string[];
      query: PdqQuery | null;
      width: number | null;
      height: number | null;
    }
  | { id: number; ok: false; error: string };

export interface Fingerprint {
  sha256: string;
  pdq: string | null;
  quality: number | null;
  /** PDQ hashes of the image's crops (spec §2.4 `pdq_variants`). */
  variants: string[];
  /** With `{ query: true }`: the hashes to ask about the image, each with its distance. */
  query: PdqQuery | null;
  width: number | null;
  height: number | null;
}

export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, { resolve: (r: HashReply) => void }>();
  private broken: string | null = null;
  private readonly queue: HashRequest[] = [];
  private readonly idle: Worker[] = [];
  private next = 0;

  constructor(size = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2))) {
    const url = new URL(__HASHING_WORKER__, document.baseURI);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { name: `hashing-${i}` });
      worker.onmessage = (event: MessageEvent<HashReply>) => {
        this.waiting.get(event.data.id)?.resolve(event.data);
        this.waiting.delete(event.data.id);
        this.idle.push(worker);
        this.pump();
      };
      // A worker that cannot start (blocked, out of memory) fails every file still waiting.
      worker.onerror = (event: ErrorEvent) => {
        this.broken = event.message || "the hashing worker failed";
        for (const [id, { resolve }] of this.waiting) resolve({ id, ok: false, error: this.broken });
        this.waiting.clear();
      };
      this.workers.push(worker);
      this.idle.push(worker);
    }
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      worker.postMessage(this.queue.shift()!);
    }
  }

  /** Fingerprint one file in a worker; rejects with the worker's error message. */
  hash(file: File, options: { query?: boolean } = {}): Promise<Fingerprint> {
    const id = this.next++;
    return new Promise<HashReply>((resolve) => {
      if (this.broken !== null) return resolve({ id, ok: false, error: this.broken });
      this.waiting.set(id, { resolve });
      this.queue.push({ id, file, query: options.query ?? false });
      this.pump();
    }).then((reply) => {
      if (!reply.ok) throw new Error(reply.error);
      const { sha256, pdq, quality, variants, query, width, height } = reply;
      return { sha256, pdq, quality, variants, query, width, height };
    });
  }

  terminate(): void {
    for (const worker of this.workers) worker.terminate();
  }
}

let shared: HashPool | null = null;

/** The page's hashing pool, started on first use. */
export function hashPool(): HashPool {
  shared ??= new HashPool();
  return shared;
}
