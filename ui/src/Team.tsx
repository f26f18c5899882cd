// Team work through the relay: conversation actions (assign, transfer, resolve, reopen), the
// customer's tags and notes, the person's own status. Errors show inline, in the person's language.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { formatTime, type Key } from "./i18n";
import { actionsFor, can, errorKind, withTag, withoutTag } from "./logic";
import type { AgentStatus, Conversation, Directory, Note, Presence, UiError, User } from "./types";

/** A refusal in words: the headline for its code, then the relay's sentence (not for offline). */
export function ErrorNote(props: { error: UiError; onDismiss?: () => void; testid?: string }) {
  const { t } = useUi();
  const kind = errorKind(props.error.code);
  const headline = t(`err_${kind}` as Key);
  const detail = kind === "offline" || kind === "auth_expired" || kind === "unauthorized" ? "" : props.error.message;
  return (
    <p className="error action-error" role="alert" data-testid={props.testid ?? "action-error"} data-code={props.error.code}>
      <span>
        {headline}
        {detail && `: ${detail}`}
      </span>
      {props.onDismiss && (
        <button type="button" className="link small" onClick={props.onDismiss} aria-label={t("dismiss")}>
          ✕
        </button>
      )}
    </p>
  );
}

/** Runs one relay action at a time, keeping its error. */
function useAction() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const run = async <T,>(name: string, f: () => Promise<T>): Promise<T | null> => {
    setBusy(name);
    setError(null);
    try {
      return await f();
    } catch (e) {
      setError(asUiError(e));
      return null;
    } finally {
      setBusy(null);
    }
  };
  return { busy, error, setError, run };
}

export function assigneeName(conv: Conversation, me: User, dir: Directory | null): string | null {
  if (conv.assignee_id === null) return null;
  if (conv.assignee_id === me.id) return me.name;
  return dir?.agents.find((a) => a.id === conv.assignee_id)?.name ?? `#${conv.assignee_id}`;
}

/** The conversation header's actions. `onUpdated` gets the relay's answer at once (the change feed follows). */
export function ConversationActions(props: {
  conv: Conversation;
  me: User;
  directory: Directory | null;
  loadDirectory: () => void;
  onUpdated: (c: Conversation) => void;
}) {
  const { t } = useUi();
  const { conv, me } = props;
  const acts = actionsFor(conv, me);
  const { busy, error, setError, run } = useAction();
  const [transferring, setTransferring] = useState(false);
  const done = (c: Conversation | null) => {
    if (c) props.onUpdated(c);
    return c;
  };
  const who = assigneeName(conv, me, props.directory);
  return (
    <div className="conv-actions">
      <span className="assignee" data-testid="assignee" data-assignee-id={conv.assignee_id ?? ""}>
        {conv.assignee_id === me.id ? t("assignedToMe") : who ? t("assignedTo", { name: who }) : t("unassigned")}
      </span>
      {acts.includes("assignToMe") && (
        <button data-testid="assign-to-me" title={`${t("assignToMe")} (A)`} aria-keyshortcuts="A" disabled={busy !== null} onClick={() => run("assign", () => api.assign(conv.id, { agentId: me.id }, can(me, "reassign"))).then(done)}>
          {t("assignToMe")}
        </button>
      )}
      {acts.includes("transfer") && (
        <button
          data-testid="transfer"
          title={`${t("transfer")} (T)`}
          aria-keyshortcuts="T"
          aria-expanded={transferring}
          disabled={busy !== null}
          onClick={() => {
            setTransferring((x) => !x);
            props.loadDirectory();
          }}
        >
          {t("transfer")}
        </button>
      )}
      {acts.includes("resolve") && (
        <button data-testid="resolve" className="primary" title={`${t("resolve")} (E)`} aria-keyshortcuts="E" disabled={busy !== null} onClick={() => run("resolve", () => api.resolve(conv.id)).then(done)}>
          {t("resolve")}
        </button>
      )}
      {acts.includes("reopen") && (
        <button data-testid="reopen" disabled={busy !== null} onClick={() => run("reopen", () => api.reopen(conv.id)).then(done)}>
          {t("reopen")}
        </button>
      )}
      {transferring && (
        <TransferPicker
          me={me}
          conv={conv}
          directory={props.directory}
          busy={busy !== null}
          onCancel={() => setTransferring(false)}
          onTransfer={(target, force) =>
            run("transfer", () => api.assign(conv.id, target, force)).then((c) => {
              if (c) setTransferring(false);
              done(c);
            })
          }
        />
      )}
      {error && <ErrorNote error={error} onDismiss={() => setError(null)} />}
    </div>
  );
}

function TransferPicker(props: {
  me: User;
  conv: Conversation;
  directory: Directory | null;
  busy: boolean;
  onCancel: () => void;
  onTransfer: (target: { agentId?: number; teamId?: number }, force: boolean) => void;
}) {
  const { t } = useUi();
  const [choice, setChoice] = useState("");
  const [force, setForce] = useState(false);
  const agents = (props.directory?.agents ?? []).filter((a) => a.id !== props.conv.assignee_id);
  const teams = props.directory?.teams ?? [];
  const submit = () => {
    const [kind, id] = choice.split(":");
    if (!id) return;
    props.onTransfer(kind === "team" ? { teamId: Number(id) } : { agentId: Number(id) }, force);
  };
  return (
    <form
      className="transfer card"
      data-testid="transfer-picker"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
      onKeyDown={(e) => e.key === "Escape" && props.onCancel()}
    >
      <label>
        {t("transferTo")}
        <select data-testid="transfer-target" value={choice} onChange={(e) => setChoice(e.target.value)} autoFocus>
          <option value="">{t("transferPick")}</option>
          {agents.length > 0 && (
            <optgroup label={t("colleagues")}>
              {agents.map((a) => (
                <option key={a.id} value={`agent:${a.id}`}>
                  {a.name} · {t(`presence_${a.presence}` as Key)}
                </option>
              ))}
            </optgroup>
          )}
          {teams.length > 0 && (
            <optgroup label={t("teams")}>
              {teams.map((x) => (
                <option key={x.id} value={`team:${x.id}`}>
                  {x.name}
                </option>
              ))}
            </optgroup>
          )}
        </select>
      </label>
      {can(props.me, "reassign") && (
        <label className="row small">
          <input type="checkbox" data-testid="transfer-force" checked={force} onChange={(e) => setForce(e.target.checked)} />
          {t("forceAssign")}
        </label>
      )}
      <div className="actions">
        <button type="submit" className="primary" data-testid="transfer-confirm" disabled={!choice || props.busy}>
          {t("transfer")}
        </button>
        <button type="button" onClick={props.onCancel}>
          {t("cancel")}
        </button>
      </div>
    </form>
  );
}

/** The customer panel's tags and notes. `contactsTick` changes when the change feed names contacts. */
export function CustomerExtras(props: { conv: Conversation; contactsTick: number; onUpdated: (tags: string[]) => void }) {
  const { t, lang } = useUi();
  const contact = props.conv.contact;
  const tags = contact.tags ?? [];
  const [draftTag, setDraftTag] = useState("");
  const [notes, setNotes] = useState<Note[] | null>(null);
  const [draftNote, setDraftNote] = useState("");
  const tagAction = useAction();
  const noteAction = useAction();

  useEffect(() => {
    let live = true;
    api.notes(contact.id).then(
      (n) => live && setNotes(n),
      (e) => live && (setNotes([]), noteAction.setError(asUiError(e))),
    );
    return () => {
      live = false;
    };
  }, [contact.id, props.contactsTick]); // eslint-disable-line

  const saveTags = (next: string[]) =>
    tagAction.run("tags", () => api.setTags(contact.id, next)).then((saved) => {
      if (saved) props.onUpdated(saved);
      return saved;
    });

  return (
    <>
      <h3>{t("tags")}</h3>
      <ul className="tags" data-testid="tags">
        {tags.length === 0 && <li className="hint">{t("noTags")}</li>}
        {tags.map((tag) => (
          <li key={tag} className="tag" data-testid="tag" data-tag={tag}>
            {tag}
            <button
              className="link small"
              data-testid="tag-remove"
              aria-label={t("removeTag", { tag })}
              disabled={tagAction.busy !== null}
              onClick={() => saveTags(withoutTag(tags, tag))}
            >
              ✕
            </button>
          </li>
        ))}
      </ul>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          const next = withTag(tags, draftTag);
          if (next === tags) return setDraftTag("");
          saveTags(next).then((s) => s && setDraftTag(""));
        }}
      >
        <input data-testid="tag-input" placeholder={t("addTag")} aria-label={t("addTag")} value={draftTag} onChange={(e) => setDraftTag(e.target.value)} />
        <button type="submit" data-testid="tag-add" disabled={!draftTag.trim() || tagAction.busy !== null}>
          {t("add")}
        </button>
      </form>
      {tagAction.error && <ErrorNote error={tagAction.error} onDismiss={() => tagAction.setError(null)} testid="tag-error" />}

      <h3>{t("notes")}</h3>
      <ul className="notes" data-testid="notes">
        {notes === null && <li className="skeleton" />}
        {notes?.length === 0 && <li className="hint">{t("noNotes")}</li>}
        {notes?.map((n) => (
          <li key={n.id} className="note" data-testid="note">
            <p>{n.text}</p>
            <small>
              {n.author_name} · <time>{formatTime(lang, n.created_at)}</time>
            </small>
          </li>
        ))}
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const text = draftNote.trim();
          if (!text) return;
          noteAction.run("note", () => api.addNote(contact.id, text)).then((n) => {
            if (!n) return;
            setDraftNote("");
            setNotes((list) => (list?.some((x) => x.id === n.id) ? list : [...(list ?? []), n]));
          });
        }}
      >
        <textarea data-testid="note-input" rows={2} placeholder={t("notePlaceholder")} aria-label={t("notePlaceholder")} value={draftNote} onChange={(e) => setDraftNote(e.target.value)} />
        <button type="submit" data-testid="note-add" disabled={!draftNote.trim() || noteAction.busy !== null}>
          {t("addNote")}
        </button>
      </form>
      {noteAction.error && <ErrorNote error={noteAction.error} onDismiss={() => noteAction.setError(null)} testid="note-error" />}
    </>
  );
}

/** The person's own status in the top bar; shows when the app set `away` because of idleness. */
export function StatusMenu(props: { presence: Presence; setPresence: (p: Presence) => void }) {
  const { t } = useUi();
  const { busy, error, setError, run } = useAction();
  const p = props.presence;
  const shown: AgentStatus = p.auto_away ? "away" : p.chosen;
  return (
    <span className="status-menu">
      <select
        data-testid="my-status"
        data-auto-away={p.auto_away ? "true" : undefined}
        className={"presence " + shown}
        aria-label={t("myStatus")}
        value={p.chosen}
        disabled={busy !== null}
        onChange={(e) => {
          const status = e.target.value as AgentStatus;
          run("status", () => api.setStatus(status)).then((ok) => ok !== null && props.setPresence({ ...p, chosen: status, auto_away: false }));
        }}
      >
        <option value="online">{t("presence_online")}</option>
        <option value="away">{t("presence_away")}</option>
      </select>
      {p.auto_away && <small className="hint"> ({t("autoAway")})</small>}
      {error && <ErrorNote error={error} onDismiss={() => setError(null)} testid="status-error" />}
    </span>
  );
}
