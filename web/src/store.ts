// What the app keeps in this browser (localStorage, this origin only): the encrypted key file
// and the receipts of the declarations made here, with the names of the files they cover.
import type { KeyFile } from "./keyfile";

const KEY = "consent-registry.key";
const RECEIPTS = "consent-registry.receipts";

/** A stored receipt: the same document as the CLI's receipt files (`consent verify` reads it). */
export interface StoredReceipt {
  format: "consent-registry-receipt/v1";
  id: string;
  index: number;
  origin: string;
  node: string;
  verifier_key: string;
  entry: string;
  receipt: string;
  files: Record<string, string[]>;
}

export function loadKeyFile(): KeyFile | null {
  const text = localStorage.getItem(KEY);
  return text === null ? null : (JSON.parse(text) as KeyFile);
}

export function saveKeyFile(file: KeyFile | null): void {
  if (file === null) localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, JSON.stringify(file));
}

export function loadReceipts(): StoredReceipt[] {
  try {
    const value = JSON.parse(localStorage.getItem(RECEIPTS) ?? "[]") as unknown;
    return Array.isArray(value) ? (value as StoredReceipt[]) : [];
  } catch {
    return [];
  }
}

export function addReceipts(receipts: StoredReceipt[]): StoredReceipt[] {
  const all = new Map(loadReceipts().map((r) => [r.id, r]));
  for (const r of receipts) all.set(r.id, r);
  const list = [...all.values()];
  localStorage.setItem(RECEIPTS, JSON.stringify(list));
  return list;
}

/** The receipt file's text, as the CLI writes it (sorted members, two-space indent). */
export function receiptText(receipt: StoredReceipt): string {
  const files = Object.fromEntries(Object.entries(receipt.files).sort(([a], [b]) => (a < b ? -1 : 1)));
  const doc = {
    entry: receipt.entry,
    files,
    format: receipt.format,
    id: receipt.id,
    index: receipt.index,
    node: receipt.node,
    origin: receipt.origin,
    receipt: receipt.receipt,
    verifier_key: receipt.verifier_key,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Offer `data` as a download named `name`. */
export function download(name: string, data: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
