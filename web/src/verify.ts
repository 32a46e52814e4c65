// Verification in the browser against the node's checkpoint key (spec §5.8): the key is taken
// from the node's description on first use and pinned in this browser, so a node that later
// presents another key is caught (a node describing itself cannot vouch for its own key).
import { api, type DeclarationView } from "./api";
import { canonicalJson, verifyCheckpointNote, verifyReceiptFor } from "./protocol";

const PINNED = "consent-registry.verifier-key";

export async function nodeKey(): Promise<string> {
  const pinned = localStorage.getItem(PINNED);
  if (pinned !== null) return pinned;
  const key = (await api.info()).verifier_key;
  localStorage.setItem(PINNED, key);
  return key;
}

export interface ReceiptResult {
  index: number;
  origin: string;
  treeSize: number;
}

/** Verify a declaration's receipt as the node serves it (GET /v1/declarations/{id}). */
export async function verifyDeclarationReceipt(view: DeclarationView): Promise<ReceiptResult> {
  const info = await api.info();
  // A declaration served from a mirrored peer's log is verified under that peer's key.
  let key = await nodeKey();
  if (view.origin !== info.origin) {
    const peer = (await api.peers()).find((p) => p.origin === view.origin);
    if (peer === undefined) throw new Error(`no key known for the log ${view.origin}`);
    key = peer.verifier_key;
  }
  const entry = canonicalJson(view.record);
  return verifyReceiptFor(entry, view.receipt, key);
}

export { verifyCheckpointNote };
