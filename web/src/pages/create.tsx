// Creators: a key (created here or imported), works fingerprinted on this device, a signed
// declaration submitted with progress, receipts to download, and "my declarations" with
// withdraw / change.
import { zipSync, strToU8 } from "fflate";
import { Component } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, type CreatorView } from "../api";
import { DropZone, ErrorMessage, Prefs, ProgressBar, describeError } from "../components";
import { hashPool, type Fingerprint } from "../hashing";
import { bytes, date, lang, t } from "../i18n";
import { KeyFileError, keyFileText, openKey, parseKeyFile, sealKey, type KeyFile } from "../keyfile";
import { planDeclarations, PrivateKey, type WorkInput } from "../protocol";
import { addReceipts, download, loadKeyFile, loadReceipts, receiptText, saveKeyFile, type StoredReceipt } from "../store";
import { nodeKey } from "../verify";

/** The unlocked key lives in memory only, for this page's lifetime. */
let unlocked: PrivateKey | null = null;

function KeySection({ onKey }: { onKey: (key: PrivateKey | null) => void }) {
  const [file, setFile] = useState<KeyFile | null>(loadKeyFile());
  const [mode, setMode] = useState<"idle" | "create" | "import">("idle");
  const [pass, setPass] = useState("");
  const [pass2, setPass2] = useState("");
  const [busy, setBusy] = useState("");
  const [error, setError] = useState("");
  const [backup, setBackup] = useState(false);
  const [importText, setImportText] = useState<string | null>(null);
  const backupButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (backup) backupButton.current?.focus();
  }, [backup]);

  const fail = (e: unknown) => {
    setBusy("");
    setError(e instanceof KeyFileError ? (e.reason === "wrong-passphrase" ? t("key.wrong") : t("key.badFile")) : describeError(e));
  };

  const create = async (e: Event) => {
    e.preventDefault();
    if (pass.length < 8) return setError(t("key.tooShort"));
    if (pass !== pass2) return setError(t("key.mismatch"));
    setError("");
    setBusy(t("key.creating"));
    try {
      const key = PrivateKey.generate();
      const sealed = await sealKey(key, pass);
      saveKeyFile(sealed);
      unlocked = key;
      setFile(sealed);
      setBusy("");
      setPass("");
      setPass2("");
      setMode("idle");
      setBackup(true); // a new key is followed by the prompt to download its backup
      onKey(key);
    } catch (err) {
      fail(err);
    }
  };

  const importKey = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      if (importText === null) return setError(t("key.badFile"));
      const parsed = parseKeyFile(importText);
      setBusy(t("key.opening"));
      const key = await openKey(parsed, pass);
      saveKeyFile(parsed);
      unlocked = key;
      setFile(parsed);
      setBusy("");
      setPass("");
      setMode("idle");
      onKey(key);
    } catch (err) {
      fail(err);
    }
  };

  const unlock = async (e: Event) => {
    e.preventDefault();
    if (file === null) return;
    setError("");
    setBusy(t("key.opening"));
    try {
      unlocked = await openKey(file, pass);
      setBusy("");
      setPass("");
      onKey(unlocked);
    } catch (err) {
      fail(err);
    }
  };

  const saveBackup = () => {
    if (file === null) return;
    download(`consent-key-${file.did.slice(-8)}.json`, keyFileText(file), "application/json");
  };

  const passField = (id: string, label: string, value: string, set: (v: string) => void, hint = false) => (
    <p>
      <label for={id}>{label}</label>
      <input
        id={id}
        type="password"
        autoComplete="new-password"
        required
        value={value}
        onInput={(e) => set((e.currentTarget as HTMLInputElement).value)}
        aria-describedby={hint ? `${id}-hint` : undefined}
      />
      {hint && (
        <small id={`${id}-hint`} class="hint">
          {t("key.passphraseHint")}
        </small>
      )}
    </p>
  );

  return (
    <section aria-labelledby="key-title" class="card">
      <h2 id="key-title">{t("key.title")}</h2>
      {backup && file !== null && (
        <div class="backup" role="alertdialog" aria-labelledby="backup-title" aria-describedby="backup-text">
          <h3 id="backup-title">{t("key.backupTitle")}</h3>
          <p id="backup-text">{t("key.backupText")}</p>
          <button type="button" ref={backupButton} class="primary" onClick={saveBackup}>
            {t("key.backup")}
          </button>{" "}
          <button type="button" onClick={() => setBackup(false)}>
            {t("key.backupDone")}
          </button>
        </div>
      )}
      {file === null && mode === "idle" && (
        <>
          <p>{t("key.none")}</p>
          <button type="button" class="primary" onClick={() => setMode("create")}>
            {t("key.create")}
          </button>{" "}
          <button type="button" onClick={() => setMode("import")}>
            {t("key.import")}
          </button>
        </>
      )}
      {file === null && mode === "create" && (
        <form onSubmit={create}>
          {passField("pass-new", t("key.passphrase"), pass, setPass, true)}
          {passField("pass-again", t("key.passphraseAgain"), pass2, setPass2)}
          <button type="submit" class="primary" disabled={busy !== ""}>
            {t("key.create")}
          </button>{" "}
          <button type="button" onClick={() => setMode("idle")}>
            {t("common.cancel")}
          </button>
        </form>
      )}
      {file === null && mode === "import" && (
        <form onSubmit={importKey}>
          <p>
            <label for="key-file">{t("key.file")}</label>
            <input
              id="key-file"
              type="file"
              accept=".json,application/json"
              aria-describedby="key-file-hint"
              onChange={async (e) => {
                const f = (e.currentTarget as HTMLInputElement).files?.[0];
                setImportText(f ? await f.text() : null);
              }}
            />
            <small id="key-file-hint" class="hint">
              {t("key.importHint")}
            </small>
          </p>
          {passField("pass-import", t("key.passphrase"), pass, setPass)}
          <button type="submit" class="primary" disabled={busy !== ""}>
            {t("key.import")}
          </button>{" "}
          <button type="button" onClick={() => setMode("idle")}>
            {t("common.cancel")}
          </button>
        </form>
      )}
      {file !== null && unlocked === null && (
        <form onSubmit={unlock}>
          <p>{t("key.locked")}</p>
          <p class="did-line">
            <code class="did">{file.did}</code>
          </p>
          {passField("pass-unlock", t("key.passphrase"), pass, setPass)}
          <button type="submit" class="primary" disabled={busy !== ""}>
            {t("key.unlock")}
          </button>
        </form>
      )}
      {file !== null && unlocked !== null && (
        <div>
          <p class="did-line">
            {t("key.unlocked")} <code class="did" data-testid="did">{file.did}</code>
          </p>
          <button type="button" onClick={saveBackup}>
            {t("key.backup")}
          </button>{" "}
          <button
            type="button"
            onClick={() => {
              unlocked = null;
              onKey(null);
            }}
          >
            {t("key.lock")}
          </button>{" "}
          <button
            type="button"
            class="danger"
            onClick={() => {
              if (!confirm(t("key.forgetConfirm"))) return;
              unlocked = null;
              saveKeyFile(null);
              setFile(null);
              onKey(null);
            }}
          >
            {t("key.forget")}
          </button>
        </div>
      )}
      {busy && (
        <p role="status" class="busy">
          {busy}
        </p>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}

interface Item {
  path: string;
  size: number;
  fp?: Fingerprint;
  failed?: string;
}

/** One file of the table; redrawn only when its own item changes (a folder of hundreds of
 * photos would otherwise redraw every row each time a fingerprint arrives). */
class FileRow extends Component<{ item: Item; lang: string }> {
  override shouldComponentUpdate(next: { item: Item; lang: string }): boolean {
    return next.item !== this.props.item || next.lang !== this.props.lang;
  }

  override render() {
    const { item } = this.props;
    return (
      <tr>
        <td>{item.path}</td>
        <td>{bytes(item.size)}</td>
        <td>
          <code title={item.fp?.sha256}>{item.fp ? `${item.fp.sha256.slice(0, 16)}…` : item.failed ?? "…"}</code>
        </td>
        <td>{item.fp ? (item.fp.quality ?? t("files.noImage")) : ""}</td>
      </tr>
    );
  }
}

function nowAfter(times: number[]): number {
  // A revision must come after what it revises (spec §3.5): at least one second later.
  return Math.max(Math.floor(Date.now() / 1000), ...times.map((x) => x + 1));
}

async function submitPlanned(
  plans: { entry: string; id: string; works: string[] }[],
  files: Record<string, string[]>,
  onProgress: (done: number) => void,
): Promise<StoredReceipt[]> {
  const info = await api.info();
  const verifierKey = await nodeKey();
  const receipts: StoredReceipt[] = [];
  const CHUNK = 20;
  for (let start = 0; start < plans.length; start += CHUNK) {
    const chunk = plans.slice(start, start + CHUNK);
    const answer = await api.submitBatch(chunk.map((p) => p.entry));
    answer.results.forEach((result, i) => {
      const plan = chunk[i]!;
      if (result.status >= 300 || result.receipt === undefined || result.index === undefined) {
        throw new Error(t("submit.failed", { detail: result.problem?.detail ?? result.problem?.title ?? String(result.status) }));
      }
      receipts.push({
        format: "consent-registry-receipt/v1",
        id: result.id ?? plan.id,
        index: result.index,
        origin: info.origin,
        node: location.origin,
        verifier_key: verifierKey,
        entry: plan.entry,
        receipt: result.receipt,
        files: Object.fromEntries(plan.works.filter((w) => files[w]).map((w) => [w, files[w]!])),
      });
    });
    onProgress(Math.min(plans.length, start + CHUNK));
  }
  return addReceipts(receipts).filter((r) => receipts.some((x) => x.id === r.id));
}

function downloadZip(receipts: StoredReceipt[]) {
  const files: Record<string, Uint8Array> = {};
  for (const r of receipts) files[`consent-receipts/${r.id}.json`] = strToU8(receiptText(r));
  download("consent-receipts.zip", zipSync(files, { level: 6, mtime: new Date(1980, 0, 1) }), "application/zip");
}

function WorksSection({ keyReady, onSubmitted }: { keyReady: boolean; onSubmitted: () => void }) {
  const [items, setItems] = useState<Item[]>([]);
  const [hashed, setHashed] = useState(0);
  const [trainAi, setTrainAi] = useState(true);
  const [search, setSearch] = useState<"" | "y" | "n">("");
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [done, setDone] = useState<StoredReceipt[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState("");

  // Fingerprints arrive from the workers one by one; the table is redrawn at most every
  // 200 ms, so a folder of hundreds of photos keeps the main thread free.
  const arrived = useRef(new Map<number, Partial<Item>>());
  const flushTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const flush = () => {
    flushTimer.current = null;
    const updates = arrived.current;
    arrived.current = new Map();
    setItems((old) => old.map((item, j) => (updates.has(j) ? { ...item, ...updates.get(j) } : item)));
    setHashed((n) => n + updates.size);
  };
  // Clearing the list starts a new generation: answers for the old list are dropped.
  const generation = useRef(0);
  const clear = () => {
    generation.current += 1;
    arrived.current = new Map();
    setItems([]);
    setHashed(0);
  };
  const arrive = (gen: number, index: number, update: Partial<Item>) => {
    if (gen !== generation.current) return;
    arrived.current.set(index, update);
    flushTimer.current ??= setTimeout(flush, 200);
  };

  const add = (files: { file: File; path: string }[]) => {
    setDone(null);
    const base = items.length;
    setItems((old) => [...old, ...files.map(({ file, path }) => ({ path, size: file.size }))]);
    const pool = hashPool();
    const gen = generation.current;
    files.forEach(({ file }, i) => {
      pool.hash(file).then(
        (fp) => arrive(gen, base + i, { fp }),
        () => arrive(gen, base + i, { failed: t("files.failed") }),
      );
    });
  };

  const fromInput = (e: Event) => {
    const input = e.currentTarget as HTMLInputElement;
    add([...(input.files ?? [])].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
    input.value = "";
  };

  const ready = items.filter((i) => i.fp);
  const pending = items.length - items.filter((i) => i.fp || i.failed).length;
  const prefs: Record<string, "y" | "n"> = {};
  if (trainAi) prefs["train-ai"] = "n";
  if (search) prefs.search = search;

  const submit = async () => {
    setError(null);
    setNote("");
    if (unlocked === null) return setNote(t("submit.needKey"));
    if (Object.keys(prefs).length === 0) return setNote(t("prefs.needOne"));
    const files: Record<string, string[]> = {};
    const works = new Map<string, WorkInput>();
    for (const item of ready) {
      const fp = item.fp!;
      (files[fp.sha256] ??= []).push(item.path);
      works.set(fp.sha256, {
        sha256: fp.sha256,
        ...(fp.pdq !== null && fp.quality !== null ? { pdq: fp.pdq, pdq_quality: fp.quality } : {}),
        ...(fp.pdq !== null && fp.variants.length > 0 ? { pdq_variants: fp.variants } : {}),
      });
    }
    try {
      const plans = planDeclarations(unlocked, [...works.values()], { prefs, issuedAt: nowAfter([]) });
      setProgress({ done: 0, total: plans.length });
      const receipts = await submitPlanned(plans, files, (d) => setProgress({ done: d, total: plans.length }));
      setDone(receipts);
      clear();
      onSubmitted();
    } catch (err) {
      setError(err);
    } finally {
      setProgress(null);
    }
  };

  return (
    <section aria-labelledby="works-title" class="card">
      <h2 id="works-title">{t("files.title")}</h2>
      <DropZone label={t("files.dropLabel")} onFiles={add}>
        <p class="pickers">
          <label class="button">
            {t("files.choose")}
            <input type="file" multiple class="visually-hidden" onChange={fromInput} data-testid="pick-files" />
          </label>{" "}
          <label class="button">
            {t("files.folder")}
            <input
              type="file"
              multiple
              class="visually-hidden"
              onChange={fromInput}
              ref={(el) => el?.setAttribute("webkitdirectory", "")}
            />
          </label>
        </p>
        <p>{t("files.drop")}</p>
      </DropZone>
      {items.length > 0 && pending > 0 && <ProgressBar label={t("files.hashing")} value={hashed} max={items.length} />}
      {items.length > 0 && pending === 0 && (
        <p role="status" data-testid="hashed">
          {ready.length === 1 ? t("files.hashed1") : t("files.hashed", { n: ready.length })}
        </p>
      )}
      {items.length === 0 && !done && <p class="muted">{t("files.none")}</p>}
      {items.length > 0 && (
        <>
          <div class="table-wrap" tabIndex={0} aria-label={t("files.title")}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("files.name")}</th>
                  <th scope="col">{t("files.size")}</th>
                  <th scope="col">{t("files.sha256")}</th>
                  <th scope="col">{t("files.pdq")}</th>
                </tr>
              </thead>
              <tbody>
                {items.map((item) => (
                  <FileRow item={item} lang={lang()} />
                ))}
              </tbody>
            </table>
          </div>
          <button type="button" onClick={clear}>
            {t("files.clear")}
          </button>
        </>
      )}
      <fieldset>
        <legend>{t("prefs.title")}</legend>
        <p>
          <label>
            <input type="checkbox" checked={trainAi} onChange={(e) => setTrainAi((e.currentTarget as HTMLInputElement).checked)} />{" "}
            {t("prefs.trainAi")}
          </label>
        </p>
        <p>
          <label for="search-pref">{t("prefs.search")}</label>{" "}
          <select id="search-pref" value={search} onChange={(e) => setSearch((e.currentTarget as HTMLSelectElement).value as "" | "y" | "n")}>
            <option value="">{t("prefs.searchUnset")}</option>
            <option value="y">{t("prefs.searchAllow")}</option>
            <option value="n">{t("prefs.searchDeny")}</option>
          </select>
        </p>
      </fieldset>
      <button type="button" class="primary" disabled={ready.length === 0 || pending > 0 || progress !== null || !keyReady} onClick={submit}>
        {ready.length === 1 ? t("submit.button1") : t("submit.button", { n: ready.length })}
      </button>
      {!keyReady && <p class="hint">{t("submit.needKey")}</p>}
      {progress && <ProgressBar label={t("submit.progress")} value={progress.done} max={progress.total} />}
      {note && (
        <p role="alert" class="error">
          {note}
        </p>
      )}
      <ErrorMessage error={error} />
      {done && (
        <div class="done" role="status">
          <p data-testid="submitted">{t("submit.done", { n: done.length })}</p>
          <button type="button" class="primary" onClick={() => downloadZip(done)}>
            {t("receipts.download")}
          </button>
          <p class="hint">{t("receipts.hint")}</p>
        </div>
      )}
    </section>
  );
}

function MineSection({ version, onChanged }: { version: number; onChanged: () => void }) {
  const [receipts, setReceipts] = useState<StoredReceipt[]>(loadReceipts());
  const [status, setStatus] = useState<CreatorView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const file = loadKeyFile();

  useEffect(() => {
    setReceipts(loadReceipts());
    if (file !== null) api.creator(file.did).then(setStatus, setError);
  }, [version]);

  const mine = receipts
    .filter((r) => file !== null && r.entry.includes(`"creator":"${file.did}"`))
    .map((r) => ({ r, record: JSON.parse(r.entry) as { issued_at: number; prefs: Record<string, string>; withdraw?: boolean; works: WorkInput[] } }))
    .sort((a, b) => b.record.issued_at - a.record.issued_at);

  const revise = async (receipt: StoredReceipt, withdraw: boolean, prefs: Record<string, "y" | "n">) => {
    if (unlocked === null) return setError(new Error(t("submit.needKey")));
    if (withdraw && !confirm(t("mine.withdrawConfirm"))) return;
    setBusy(receipt.id);
    setError(null);
    try {
      const record = JSON.parse(receipt.entry) as { issued_at: number; works: WorkInput[] };
      const plans = planDeclarations(unlocked, record.works, {
        prefs: withdraw ? {} : prefs,
        withdraw,
        supersedes: [receipt.id],
        issuedAt: nowAfter([record.issued_at]),
      });
      await submitPlanned(plans, receipt.files, () => undefined);
      onChanged();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  const statusOf = (id: string, withdraw: boolean) => {
    const found = status?.declarations.find((d) => d.id === id);
    if (!found) return t("mine.unknown");
    if (found.status === "superseded") return t("mine.superseded");
    if (found.status === "overridden") return t("mine.overridden");
    return withdraw ? t("mine.withdrawn") : t("mine.current");
  };

  return (
    <section aria-labelledby="mine-title" class="card">
      <h2 id="mine-title">{t("mine.title")}</h2>
      <ErrorMessage error={error} />
      {mine.length === 0 ? (
        <p class="muted">{t("mine.none")}</p>
      ) : (
        <div class="table-wrap" tabIndex={0} aria-label={t("mine.title")}>
          <table data-testid="mine">
            <thead>
              <tr>
                <th scope="col">{t("mine.date")}</th>
                <th scope="col">{t("mine.files")}</th>
                <th scope="col">{t("mine.prefs")}</th>
                <th scope="col">{t("mine.status")}</th>
                <th scope="col">{t("mine.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {mine.map(({ r, record }) => {
                const names = Object.values(r.files).flat().sort();
                const current = status?.declarations.find((d) => d.id === r.id)?.status === "current";
                return (
                  <tr data-id={r.id}>
                    <td>{date(record.issued_at)}</td>
                    <td>
                      {names.slice(0, 3).join(", ")}
                      {names.length > 3 && ` ${t("mine.more", { n: names.length - 3 })}`}
                    </td>
                    <td>{record.withdraw ? t("mine.withdrawn") : <Prefs prefs={record.prefs} />}</td>
                    <td class="status">{statusOf(r.id, record.withdraw === true)}</td>
                    <td class="actions">
                      <button type="button" onClick={() => download(`${r.id}.json`, receiptText(r), "application/json")}>
                        {t("receipts.downloadOne")}
                      </button>
                      {current && !record.withdraw && (
                        <>
                          {" "}
                          <button type="button" disabled={busy !== null} onClick={() => revise(r, true, {})}>
                            {t("mine.withdraw")}
                          </button>{" "}
                          <button
                            type="button"
                            disabled={busy !== null}
                            onClick={() =>
                              revise(r, false, record.prefs["train-ai"] === "n" ? { ...record.prefs, "train-ai": "y" } as Record<string, "y" | "n"> : { ...record.prefs, "train-ai": "n" } as Record<string, "y" | "n">)
                            }
                          >
                            {record.prefs["train-ai"] === "n" ? t("mine.change") : t("mine.changeBack")}
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function CreatePage() {
  const [keyReady, setKeyReady] = useState(unlocked !== null);
  const [version, setVersion] = useState(0);
  const bump = () => setVersion((v) => v + 1);
  return (
    <>
      <h1>{t("create.title")}</h1>
      <p class="intro">{t("create.intro")}</p>
      <KeySection onKey={(key) => (setKeyReady(key !== null), bump())} />
      <WorksSection keyReady={keyReady} onSubmitted={bump} />
      <MineSection version={version} onChanged={bump} />
    </>
  );
}
