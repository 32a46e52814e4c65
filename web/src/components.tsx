// Pieces shared by the pages: preferences, claims, errors, drop zones.
import type { ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { api, ApiError, type Claim } from "./api";
import { date, type MessageKey, num, t } from "./i18n";
import { verifyDeclarationReceipt } from "./verify";

export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return t("common.offline");
  return error instanceof Error ? error.message : String(error);
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  return (
    <p class="error" role="alert">
      {t("common.error", { detail: describeError(error) })}
    </p>
  );
}

const CAT_KEYS: Record<string, MessageKey> = { "train-ai": "prefs.cat.train-ai", search: "prefs.cat.search" };

export function Prefs({ prefs }: { prefs: Record<string, string> }) {
  const entries = Object.entries(prefs).sort(([a], [b]) => (a < b ? -1 : 1));
  if (entries.length === 0) return <span>{t("prefs.none")}</span>;
  return (
    <span class="prefs">
      {entries.map(([cat, value]) => (
        <span class={`pref pref-${value}`}>
          {CAT_KEYS[cat] ? t(CAT_KEYS[cat]) : cat}: {value === "n" ? t("prefs.value.n") : t("prefs.value.y")}{" "}
          <code>
            {cat}={value}
          </code>
        </span>
      ))}
    </span>
  );
}

export function Summary({ prefs }: { prefs: Record<string, string> }) {
  const train = prefs["train-ai"];
  if (train === "n") return <p class="summary reserved">{t("summary.reserved")}</p>;
  if (train === "y") return <p class="summary allowed">{t("summary.allowed")}</p>;
  return <p class="summary none">{t("summary.none")}</p>;
}

function ReceiptCheck({ id }: { id: string }) {
  const [state, setState] = useState<{ busy?: boolean; ok?: string; error?: string }>({});
  const verify = async () => {
    setState({ busy: true });
    try {
      const view = await api.declaration(id);
      const result = await verifyDeclarationReceipt(view);
      setState({ ok: t("claim.verified", { index: num(result.index), origin: result.origin, size: num(result.treeSize) }) });
    } catch (error) {
      setState({ error: t("claim.verifyFailed", { detail: describeError(error) }) });
    }
  };
  return (
    <div class="receipt-check">
      <button type="button" onClick={verify} disabled={state.busy}>
        {state.busy ? t("claim.verifying") : t("claim.verify")}
      </button>
      <p aria-live="polite" class={state.error ? "error" : "ok"}>
        {state.ok ?? state.error ?? ""}
      </p>
    </div>
  );
}

export function Claims({ claims }: { claims: Claim[] }) {
  return (
    <ul class="claims">
      {claims.map((claim) => (
        <li class="claim">
          <dl>
            <dt>{t("claim.creator")}</dt>
            <dd>
              <code class="did">{claim.creator}</code>
            </dd>
            <dt>{t("claim.identity")}</dt>
            <dd>{claim.verified ? t("claim.verifiedId") : t("claim.unverifiedId")}</dd>
            <dt>{t("claim.declared")}</dt>
            <dd>{date(claim.issued_at)}</dd>
            <dt>{t("claim.prefs")}</dt>
            <dd>
              <Prefs prefs={claim.prefs} />
            </dd>
          </dl>
          {claim.flagged && <p class="error">{t("claim.flagged")}</p>}
          <ReceiptCheck id={claim.declaration} />
        </li>
      ))}
    </ul>
  );
}

/** Files from a drop, walking into dropped folders (with their relative paths as names). */
export async function droppedFiles(transfer: DataTransfer): Promise<{ file: File; path: string }[]> {
  const out: { file: File; path: string }[] = [];
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.() ?? null);
  if (entries.every((e) => e === null)) {
    return [...transfer.files].map((file) => ({ file, path: file.name }));
  }
  const walk = async (entry: FileSystemEntry): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push({ file, path: entry.fullPath.replace(/^\//, "") });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child);
      }
    }
  };
  for (const entry of entries) if (entry !== null) await walk(entry);
  return out;
}

export function DropZone({
  label,
  onFiles,
  children,
}: {
  label: string;
  onFiles: (files: { file: File; path: string }[]) => void;
  children: ComponentChildren;
}) {
  const [over, setOver] = useState(false);
  return (
    <div
      class={`dropzone${over ? " over" : ""}`}
      role="group"
      aria-label={label}
      data-testid="dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={async (e) => {
        e.preventDefault();
        setOver(false);
        if (e.dataTransfer) onFiles(await droppedFiles(e.dataTransfer));
      }}
    >
      {children}
    </div>
  );
}

export function ProgressBar({ label, value, max }: { label: string; value: number; max: number }) {
  return (
    <div class="progress">
      <label>
        {label}: {num(value)} / {num(max)}
        <progress value={value} max={max} />
      </label>
    </div>
  );
}
