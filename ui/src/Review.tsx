// The review of blocked messages (permission `review_blocked`): what the sensitive-word filter
// refused, waiting ones first, each released (queued as its author wrote it) or rejected (never
// sent). Re-read when the change feed reports a new block or the screen opens.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { formatTime } from "./i18n";
import { blockState, blockText, sortBlocks } from "./logic";
import { ErrorNote } from "./Team";
import type { Block, Conversation, Directory, UiError } from "./types";

export function ReviewView(props: { all: Conversation[]; directory: Directory | null; onOpen: (conversationId: number) => void; onClose: () => void }) {
  const { t, lang } = useUi();
  const [blocks, setBlocks] = useState<Block[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [rowError, setRowError] = useState<{ id: number; error: UiError } | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const load = () => api.reviewBlocks().then((b) => { setBlocks(b); setError(null); }, (e) => setError(asUiError(e)));
  useEffect(() => {
    load();
    const every = setInterval(load, 10000);
    return () => clearInterval(every);
  }, []); // eslint-disable-line
  const decide = async (b: Block, release: boolean) => {
    setBusy(b.id);
    try {
      if (release) await api.reviewAllow(b.id);
      else await api.reviewReject(b.id);
      setRowError(null);
      await load();
    } catch (e) {
      setRowError({ id: b.id, error: asUiError(e) });
    } finally {
      setBusy(null);
    }
  };
  const customer = (id: number) => {
    const c = props.all.find((x) => x.id === id);
    return c ? c.contact.name ?? (c.contact.wa_id ? "+" + c.contact.wa_id : `#${id}`) : `#${id}`;
  };
  const author = (b: Block) => (b.user_id === null ? t("automaticReply") : props.directory?.agents.find((a) => a.id === b.user_id)?.name ?? `#${b.user_id}`);
  const list = blocks ? sortBlocks(blocks) : null;
  return (
    <section className="conversation monitor" data-testid="review" aria-label={t("reviewTitle")}>
      <header className="conv-head">
        <h2>{t("reviewTitle")}</h2>
        <button data-testid="close-review" onClick={props.onClose}>
          {t("closeMonitor")}
        </button>
      </header>
      <div className="monitor-body">
        {error && <ErrorNote error={error} testid="review-error" />}
        {!list && !error && <div className="skeleton tall" />}
        {list && list.length === 0 && <p className="hint">{t("reviewEmpty")}</p>}
        {list && list.length > 0 && (
          <table className="monitor-table" data-testid="blocks">
            <thead>
              <tr>
                <th>{t("auditWhen")}</th>
                <th>{t("customer")}</th>
                <th>{t("auditWho")}</th>
                <th>{t("auditDetails")}</th>
                <th>{t("status")}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((b) => {
                const state = blockState(b);
                return (
                  <tr key={b.id} data-testid="block" data-block-id={b.id} data-state={state}>
                    <td className="num">{formatTime(lang, b.created_at)}</td>
                    <td>
                      <button className="link" data-testid="block-conversation" onClick={() => props.onOpen(b.conversation_id)}>
                        {customer(b.conversation_id)}
                      </button>
                    </td>
                    <td>{author(b)}</td>
                    <td>
                      <span data-testid="block-text">{blockText(b)}</span>
                      <br />
                      <small className="hint">{t("blockedWord", { word: b.matched })}</small>
                    </td>
                    <td className="row-actions">
                      {state === "pending" ? (
                        <>
                          <button className="primary" data-testid="block-release" disabled={busy === b.id} onClick={() => decide(b, true)}>
                            {t("release")}
                          </button>
                          <button className="danger" data-testid="block-reject" disabled={busy === b.id} onClick={() => decide(b, false)}>
                            {t("reject")}
                          </button>
                        </>
                      ) : (
                        <span data-testid="block-state">{state === "released" ? t("released") : t("rejected")}</span>
                      )}
                      {rowError?.id === b.id && <ErrorNote error={rowError.error} testid="block-error" />}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
