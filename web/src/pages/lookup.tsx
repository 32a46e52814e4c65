// Anyone: drop an image or paste a URL or hash; see the claims on it, exact and near-duplicate,
// and verify any claim's receipt in this browser.
import { useState } from "preact/hooks";
import { api, type NearResult, type Work } from "../api";
import { Claims, DropZone, ErrorMessage, Summary } from "../components";
import { hashPool } from "../hashing";
import { nearCopies } from "../near";
import { num, t } from "../i18n";

interface Answer {
  title: string;
  exact: Work | null;
  near: NearResult | null;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function LookupPage() {
  const [query, setQuery] = useState("");
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [hint, setHint] = useState("");
  const [asking, setAsking] = useState<{ done: number; total: number } | null>(null);

  const run = async (title: string, exact: Promise<Work> | null, near: Promise<NearResult> | null) => {
    setBusy(true);
    setError(null);
    setAnswer(null);
    setAsking(null);
    try {
      const [e, n] = await Promise.all([exact, near]);
      setAnswer({ title, exact: e, near: n });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setAsking(null);
    }
  };

  const lookupImage = async (files: { file: File; path: string }[]) => {
    const first = files[0];
    if (!first) return;
    setBusy(true);
    setError(null);
    try {
      const fp = await hashPool().hash(first.file, { query: true });
      // An image is asked by all the hashes of the recommended check (its own, its flips and
      // rotations, its cuts): a cropped, framed or flipped copy still finds the declared work.
      await run(
        t("lookup.fingerprinted", { name: first.path }),
        api.workBySha256(fp.sha256),
        fp.query === null ? (fp.pdq === null ? null : api.workByPdq(fp.pdq)) : nearCopies(fp.query, (done, total) => setAsking({ done, total })),
      );
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const q = query.trim();
    setHint("");
    if (/^https?:\/\//i.test(q)) return void run(q, api.workByUrl(q), null);
    const hex = q.toLowerCase();
    // 64 hex digits are a SHA-256 or a PDQ hash: ask both ways.
    if (HEX64.test(hex)) return void run(hex, api.workBySha256(hex), api.workByPdq(hex));
    setHint(t("lookup.badQuery"));
  };

  return (
    <>
      <h1>{t("lookup.title")}</h1>
      <p class="intro">{t("lookup.intro")}</p>
      <section class="card" aria-label={t("lookup.title")}>
        <DropZone label={t("files.dropLabel")} onFiles={lookupImage}>
          <p>
            {t("lookup.drop")}{" "}
            <label class="button">
              {t("lookup.choose")}
              <input
                type="file"
                accept="image/*"
                class="visually-hidden"
                data-testid="lookup-file"
                onChange={(e) => {
                  const input = e.currentTarget as HTMLInputElement;
                  const file = input.files?.[0];
                  if (file) void lookupImage([{ file, path: file.name }]);
                  input.value = "";
                }}
              />
            </label>
          </p>
        </DropZone>
        <form onSubmit={submit} class="query">
          <label for="query">{t("lookup.query")}</label>
          <input
            id="query"
            type="text"
            inputMode="url"
            spellcheck={false}
            value={query}
            aria-describedby={hint ? "query-hint" : undefined}
            onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)}
          />
          <button type="submit" class="primary">
            {t("lookup.search")}
          </button>
          {hint && (
            <p id="query-hint" role="alert" class="error">
              {hint}
            </p>
          )}
        </form>
      </section>
      {busy && (
        <p role="status">
          {asking && asking.total > 1 ? t("lookup.asking", { done: num(asking.done), total: num(asking.total) }) : t("common.loading")}
        </p>
      )}
      <ErrorMessage error={error} />
      {answer && (
        <section class="card result" aria-labelledby="result-title" data-testid="result">
          <h2 id="result-title">
            {t("lookup.result")}: <span class="subject">{answer.title}</span>
          </h2>
          {answer.exact && (
            <>
              <h3>
                {t("lookup.exact")}
                {answer.near && answer.exact.sha256 ? ` (${t("lookup.asSha256")})` : ""}
              </h3>
              <Summary prefs={answer.exact.prefs} />
              {answer.exact.claims.length === 0 ? <p>{t("lookup.noClaims")}</p> : <Claims claims={answer.exact.claims} />}
            </>
          )}
          {answer.near && (
            <>
              <h3>{t("lookup.near")}</h3>
              {answer.near.matches.length === 0 ? (
                <p>{t("lookup.noNear")}</p>
              ) : (
                <ul class="matches" data-testid="near">
                  {answer.near.matches.map((m) => (
                    <li>
                      <p>
                        <code title={m.sha256}>{m.sha256.slice(0, 16)}…</code> · {t("lookup.distance", { d: num(m.distance) })}
                      </p>
                      <Summary prefs={m.prefs} />
                      <Claims claims={m.claims} />
                    </li>
                  ))}
                </ul>
              )}
            </>
          )}
        </section>
      )}
    </>
  );
}
