// Operators and the curious: the log's size, its latest checkpoint (signature verified here)
// with its cosignatures, and the peers this node mirrors.
import { useEffect, useState } from "preact/hooks";
import { api, type NodeInfo, type PeerView } from "../api";
import { describeError, ErrorMessage } from "../components";
import { date, num, t } from "../i18n";
import { nodeKey, verifyCheckpointNote } from "../verify";
import type { CheckpointSummary } from "../protocol";

interface State {
  info: NodeInfo;
  checkpoint: CheckpointSummary | null;
  checkpointError: string | null;
  peers: PeerView[];
}

const entries = (n: number) => (n === 1 ? t("status.entry") : t("status.entries", { n: num(n) }));

export function StatusPage() {
  const [state, setState] = useState<State | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = async () => {
    setError(null);
    try {
      const [info, note, peers] = await Promise.all([api.info(), api.checkpoint(), api.peers()]);
      let checkpoint: CheckpointSummary | null = null;
      let checkpointError: string | null = null;
      try {
        const witnessKeys = peers.flatMap((p) => (p.witness_key ? [p.witness_key] : []));
        checkpoint = verifyCheckpointNote(note, await nodeKey(), witnessKeys);
      } catch (err) {
        checkpointError = describeError(err);
      }
      setState({ info, checkpoint, checkpointError, peers });
    } catch (err) {
      setError(err);
    }
  };

  useEffect(() => {
    void load();
  }, []);

  return (
    <>
      <h1>{t("status.title")}</h1>
      <ErrorMessage error={error} />
      {state === null && error === null && <p role="status">{t("common.loading")}</p>}
      {state && (
        <>
          <section class="card" aria-labelledby="node-title">
            <h2 id="node-title">{t("status.node")}</h2>
            <dl class="facts">
              <dt>{t("status.origin")}</dt>
              <dd>
                <code>{state.info.origin}</code>
              </dd>
              <dt>{t("status.key")}</dt>
              <dd>
                <code class="key">{state.info.verifier_key}</code>
              </dd>
              <dt>{t("status.version")}</dt>
              <dd>
                {state.info.software} {state.info.version}
              </dd>
              <dt>{t("status.size")}</dt>
              <dd data-testid="log-size">{state.checkpoint ? entries(state.checkpoint.size) : "?"}</dd>
            </dl>
          </section>
          <section class="card" aria-labelledby="cp-title">
            <h2 id="cp-title">{t("status.checkpoint")}</h2>
            {state.checkpoint && (
              <>
                <p class="ok">{t("status.sigOk")}</p>
                <dl class="facts">
                  <dt>{t("status.size")}</dt>
                  <dd>{entries(state.checkpoint.size)}</dd>
                  <dt>{t("status.root")}</dt>
                  <dd>
                    <code class="key">{state.checkpoint.rootHash}</code>
                  </dd>
                </dl>
                <h3>{t("status.cosigs")}</h3>
                {state.checkpoint.cosignatures.length === 0 ? (
                  <p>{t("status.noCosigs")}</p>
                ) : (
                  <ul>
                    {state.checkpoint.cosignatures.map((c) => (
                      <li>
                        <code>{c.name}</code>
                        {c.timestamp !== null && ` · ${date(c.timestamp)}`}
                      </li>
                    ))}
                  </ul>
                )}
              </>
            )}
            {state.checkpointError && (
              <p role="alert" class="error">
                {t("status.sigBad", { detail: state.checkpointError })}
              </p>
            )}
          </section>
          <section class="card" aria-labelledby="peers-title">
            <h2 id="peers-title">{t("status.peers")}</h2>
            {state.peers.length === 0 ? (
              <p>{t("status.noPeers")}</p>
            ) : (
              <div class="table-wrap" tabIndex={0} aria-label={t("status.peers")}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t("status.peer")}</th>
                      <th scope="col">{t("status.verified")}</th>
                      <th scope="col">{t("status.lag")}</th>
                      <th scope="col">{t("status.state")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {state.peers.map((p) => (
                      <tr>
                        <td>
                          <code>{p.origin}</code>
                        </td>
                        <td>{num(p.verified_size)}</td>
                        <td>{num(p.lag)}</td>
                        <td class={p.flagged ? "error" : ""}>
                          {p.flagged
                            ? t("status.flagged")
                            : p.last_error
                              ? t("status.error", { detail: p.last_error })
                              : p.last_success === null
                                ? t("status.never")
                                : `${t("status.ok")} · ${date(p.last_success)}`}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <button type="button" onClick={load}>
            {t("status.refresh")}
          </button>
        </>
      )}
    </>
  );
}
