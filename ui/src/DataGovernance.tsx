// Data governance for those whose role grants `manage_data` (the relay checks and audits it):
// the admin console's "Data" tab (how long each business number keeps messages, media, events
// and webhook bodies; the legal holds in force, released from here) and, in the customer panel,
// a legal hold on the customer or the open conversation and erasing the customer (GDPR Art. 17)
// after a typed confirmation. Decisions are in `governance.ts`.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { choiceOf, eraseConfirmed, holdReason, holdsFor, parseRetention, RETENTION_PRESETS, retentionParts, type RetentionChoice } from "./governance";
import { formatTime } from "./i18n";
import { ErrorNote } from "./Team";
import type { Conversation, LegalHold, Retention, UiError } from "./types";

function useRetentionLabel() {
  const { t } = useUi();
  return (days: number | null) => {
    const p = retentionParts(days);
    return t(p.key, { n: p.n });
  };
}

function RetentionRow(props: { row: Retention; onSaved: (r: Retention) => void }) {
  const { t, lang } = useUi();
  const label = useRetentionLabel();
  const [choice, setChoice] = useState<RetentionChoice>(choiceOf(props.row.days));
  const [custom, setCustom] = useState(props.row.days === null ? "" : String(props.row.days));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  // Follows the relay's value when it changes (saved here, or reloaded).
  useEffect(() => {
    setChoice(choiceOf(props.row.days));
    setCustom(props.row.days === null ? "" : String(props.row.days));
  }, [props.row.days]);
  const save = async () => {
    setSaved(false);
    const parsed = parseRetention(choice, custom);
    if (!parsed.ok) {
      setError(t(parsed.error));
      return;
    }
    setError(null);
    setBusy(true);
    try {
      props.onSaved(await api.setRetention(props.row.phone_number_id, parsed.days));
      setSaved(true);
    } catch (e) {
      setError(asUiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  const id = props.row.phone_number_id;
  return (
    <tr data-testid="retention-row" data-id={id} data-days={props.row.days ?? "forever"}>
      <td>
        {props.row.name} <small>{props.row.display_phone_number}</small>
      </td>
      <td data-testid="retention-current">
        {label(props.row.days)}
        {props.row.purged_before !== null && (
          <>
            <br />
            <small>{t("purgedBefore", { time: formatTime(lang, props.row.purged_before) })}</small>
          </>
        )}
        {props.row.purged_messages > 0 && (
          <>
            <br />
            <small data-testid="retention-purged">{t("purgedSoFar", { messages: props.row.purged_messages, conversations: props.row.purged_conversations })}</small>
          </>
        )}
      </td>
      <td>
        <select aria-label={t("retentionFor", { number: props.row.name })} data-testid="retention-choice" value={choice} onChange={(e) => setChoice(e.target.value as RetentionChoice)}>
          {RETENTION_PRESETS.map((d) => (
            <option key={d} value={`${d}`}>
              {label(d)}
            </option>
          ))}
          <option value="custom">{t("retentionCustom")}</option>
          <option value="forever">{t("retentionForever")}</option>
        </select>
        {choice === "custom" && (
          <input data-testid="retention-days" inputMode="numeric" aria-label={t("retentionDaysField")} value={custom} onChange={(e) => setCustom(e.target.value)} size={5} />
        )}
        <button data-testid="retention-save" disabled={busy} onClick={save}>
          {t("save")}
        </button>
        {saved && <small className="ok">{t("saved")}</small>}
        {error && (
          <small className="error" role="alert" data-testid="retention-error">
            {error}
          </small>
        )}
      </td>
    </tr>
  );
}

export function DataTab() {
  const { t, lang } = useUi();
  const [rows, setRows] = useState<Retention[] | null>(null);
  const [holds, setHolds] = useState<LegalHold[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const load = () =>
    Promise.all([api.retention(), api.legalHolds()]).then(
      ([r, h]) => {
        setRows(r);
        setHolds(h);
        setError(null);
      },
      (e) => setError(asUiError(e)),
    );
  useEffect(() => {
    load();
  }, []);
  const release = async (h: LegalHold) => {
    try {
      await api.releaseLegalHold(h.contact_id !== null ? { contactId: h.contact_id } : { conversationId: h.conversation_id ?? undefined });
      await load();
    } catch (e) {
      setError(asUiError(e));
    }
  };
  return (
    <section className="governance" data-testid="data-tab">
      <h3>{t("retentionTitle")}</h3>
      <p className="hint">{t("retentionHint")}</p>
      {error && <ErrorNote error={error} testid="data-error" />}
      {rows && (
        <table>
          <thead>
            <tr>
              <th>{t("numbersTab")}</th>
              <th>{t("retentionNow")}</th>
              <th>{t("retentionChange")}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <RetentionRow key={r.phone_number_id} row={r} onSaved={(n) => setRows((all) => (all ?? []).map((x) => (x.phone_number_id === n.phone_number_id ? n : x)))} />
            ))}
          </tbody>
        </table>
      )}
      <h3>{t("legalHolds")}</h3>
      {holds && holds.length === 0 && <p className="hint">{t("noLegalHolds")}</p>}
      {holds && holds.length > 0 && (
        <ul className="holds" data-testid="legal-holds">
          {holds.map((h) => (
            <li key={h.id} data-testid="legal-hold" data-contact={h.contact_id ?? ""} data-conversation={h.conversation_id ?? ""}>
              <strong>{h.contact_id !== null ? t("holdOnCustomer", { id: h.contact_id }) : t("holdOnConversation", { id: h.conversation_id ?? 0 })}</strong>{" "}
              {h.reason} <small>{t("holdSetBy", { who: h.set_by, time: formatTime(lang, h.set_at) })}</small>{" "}
              <button data-testid="legal-hold-release" onClick={() => release(h)}>
                {t("releaseHold")}
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The customer panel's part: holds on the customer and the conversation, and erasure. */
export function CustomerGovernance(props: { conv: Conversation }) {
  const { t } = useUi();
  const contactId = props.conv.contact.id;
  const [holds, setHolds] = useState<LegalHold[] | null>(null);
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [erasing, setErasing] = useState(false);
  const [typed, setTyped] = useState("");
  const [busy, setBusy] = useState(false);
  const reload = () => api.legalHolds().then(setHolds, (e) => setError(asUiError(e).message));
  useEffect(() => {
    reload();
  }, [contactId]);
  const mine = holds ? holdsFor(holds, contactId, props.conv.id) : {};
  const held = Boolean(mine.contact || mine.conversation);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    setBusy(true);
    try {
      await f();
      await reload();
    } catch (e) {
      setError(asUiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  const hold = (on: { contactId?: number; conversationId?: number }) => {
    const r = holdReason(reason);
    if (!r.ok) {
      setError(t(r.error));
      return;
    }
    act(async () => {
      await api.setLegalHold(on, r.reason);
      setReason("");
    });
  };
  const word = t("eraseWord");
  return (
    <section className="governance" data-testid="customer-governance" data-held={held}>
      <h3>{t("legalHold")}</h3>
      {mine.contact && (
        <p className="warn" data-testid="hold-customer">
          {t("customerHeld", { reason: mine.contact.reason })}{" "}
          <button disabled={busy} data-testid="release-customer-hold" onClick={() => act(() => api.releaseLegalHold({ contactId }))}>
            {t("releaseHold")}
          </button>
        </p>
      )}
      {mine.conversation && (
        <p className="warn" data-testid="hold-conversation">
          {t("conversationHeld", { reason: mine.conversation.reason })}{" "}
          <button disabled={busy} data-testid="release-conversation-hold" onClick={() => act(() => api.releaseLegalHold({ conversationId: props.conv.id }))}>
            {t("releaseHold")}
          </button>
        </p>
      )}
      {(!mine.contact || !mine.conversation) && (
        <div className="hold-form">
          <input data-testid="hold-reason" aria-label={t("holdReason")} placeholder={t("holdReason")} value={reason} maxLength={200} onChange={(e) => setReason(e.target.value)} />
          {!mine.contact && (
            <button disabled={busy} data-testid="hold-customer-button" onClick={() => hold({ contactId })}>
              {t("holdCustomer")}
            </button>
          )}
          {!mine.conversation && (
            <button disabled={busy} data-testid="hold-conversation-button" onClick={() => hold({ conversationId: props.conv.id })}>
              {t("holdConversation")}
            </button>
          )}
        </div>
      )}
      {!erasing ? (
        <button className="danger" disabled={busy || held || holds === null} title={held ? t("eraseHeld") : undefined} data-testid="erase-customer" onClick={() => setErasing(true)}>
          {t("eraseCustomer")}
        </button>
      ) : (
        <div className="erase-confirm" data-testid="erase-confirm">
          <p className="warn">{t("eraseWarning", { word })}</p>
          <input data-testid="erase-word" aria-label={t("eraseTypeWord", { word })} value={typed} onChange={(e) => setTyped(e.target.value)} />
          <button className="danger" disabled={busy || !eraseConfirmed(typed, word)} data-testid="erase-go" onClick={() => act(() => api.eraseContact(contactId))}>
            {t("eraseNow")}
          </button>
          <button
            disabled={busy}
            onClick={() => {
              setErasing(false);
              setTyped("");
            }}
          >
            {t("cancel")}
          </button>
        </div>
      )}
      {error && (
        <small className="error" role="alert" data-testid="governance-error">
          {error}
        </small>
      )}
    </section>
  );
}
