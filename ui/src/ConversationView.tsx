import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { formatTime } from "./i18n";
import { ATTACHMENT_ACCEPT, attachmentType, canSendFreeText, deletedNoteKey, formatCountdown, groupReactions, numberLabel, originLabel, savedPlace, templateReady, tickGlyph, tickInfo, windowState, type Reaction } from "./logic";
import { ConversationActions } from "./Team";
import type { Conversation, Directory, Message, PhoneNumber, Template, TimelineItem, UiError, User } from "./types";

const PAGE = 200;

export function ConversationView(props: {
  conv: Conversation;
  me: User;
  online: boolean;
  /** The relay's business numbers: the header names the conversation's by its name. */
  numbers: PhoneNumber[];
  tick: number;
  directory: Directory | null;
  loadDirectory: () => void;
  onUpdated: (c: Conversation) => void;
}) {
  const { t } = useUi();
  const { conv } = props;
  const [items, setItems] = useState<TimelineItem[] | null>(null);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [now, setNow] = useState(Date.now());
  const [error, setError] = useState<UiError | null>(null);
  const scroller = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let live = true;
    api.timeline(conv.id, null, PAGE).then((x) => live && setItems(x), (e) => live && setError(asUiError(e)));
    return () => {
      live = false;
    };
  }, [conv.id, props.tick]);
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, []);
  useEffect(() => {
    if (conv.unread_count > 0 && props.online) api.markRead(conv.id).catch(() => {});
  }, [conv.id, conv.unread_count, props.online]);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [items]);

  const w = windowState(conv.last_inbound_at, now);
  const refusedForWindow = (items ?? []).some((i) => i.kind === "pending" && i.state === "failed" && i.error_code === "window_closed");
  const freeText = canSendFreeText(w) && !refusedForWindow;
  const byId = new Map<number, Message>();
  for (const i of items ?? []) if (i.kind === "message") byId.set(i.id, i);
  const name = conv.contact.name ?? (conv.contact.wa_id ? "+" + conv.contact.wa_id : "?");
  // Reactions sit on the message they react to, as in WhatsApp.
  const grouped = groupReactions(items ?? []);

  return (
    <section className="conversation" data-testid="conversation-view" data-conversation-id={conv.id}>
      <header className="conv-head">
        <h2>{name}</h2>
        <small className="hint conv-number" data-testid="conv-number" title={props.conv.phone_number_id}>
          {numberLabel(props.conv.phone_number_id, props.numbers)}
        </small>
        <span data-testid="window-countdown" data-phase={w.phase} className={"window " + w.phase} role="timer">
          {w.phase === "open" && t("windowOpen", { time: formatCountdown(w.left) })}
          {w.phase === "closing" && t("windowClosing", { time: formatCountdown(w.left) })}
          {(w.phase === "closed" || w.phase === "none") && t("windowShut")}
        </span>
        <ConversationActions conv={conv} me={props.me} directory={props.directory} loadDirectory={props.loadDirectory} onUpdated={props.onUpdated} />
      </header>
      <div className="messages" ref={scroller} aria-live="polite">
        {error && <p className="error" role="alert">{error.message}</p>}
        {items === null && !error && <div className="skeleton tall" />}
        {items &&
          grouped.items.map((item) => (
            <Bubble
              key={item.kind === "message" ? `m${item.id}` : `p${item.client_id}`}
              item={item}
              quoted={item.kind === "message" && item.reply_to ? byId.get(item.reply_to) ?? null : null}
              reactions={item.kind === "message" ? grouped.reactions.get(item.id) ?? [] : []}
              onReply={setReplyTo}
            />
          ))}
      </div>
      {freeText ? (
        <Composer conv={conv} replyTo={replyTo} clearReply={() => setReplyTo(null)} />
      ) : (
        <TemplatePicker conv={conv} reason={w.phase === "none" ? t("windowNone") : t("windowClosed")} />
      )}
    </section>
  );
}

function Bubble(props: { item: TimelineItem; quoted: Message | null; reactions: Reaction[]; onReply: (m: Message) => void }) {
  const { t, lang } = useUi();
  const { item } = props;
  const tick = tickInfo(item);
  const outbound = item.kind === "pending" || item.direction === "outbound";
  const [busy, setBusy] = useState(false);
  const retry = async () => {
    setBusy(true);
    try {
      if (item.kind === "pending") await api.retry(item.client_id);
      else if (item.kind === "message") await api.sendText(item.conversation_id, item.text, item.reply_to);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div
      className={"bubble " + (outbound ? "out" : "in") + (tick ? " " + tick.status : "") + (item.kind === "message" && item.deleted_at ? " deleted" : "")}
      data-testid="message"
      data-edited={item.kind === "message" && item.edited_at ? "true" : undefined}
      data-deleted={item.kind === "message" && item.deleted_at ? "true" : undefined}
      data-status={tick?.status ?? "received"}
      data-pending={tick?.pending ? "true" : undefined}
      data-message-id={item.kind === "message" ? item.id : undefined}
      data-type={item.kind === "message" ? item.type : undefined}
    >
      {props.quoted && (
        <blockquote className="quote" data-testid="reply-quote">
          {props.quoted.text || `[${props.quoted.type}]`}
        </blockquote>
      )}
      {item.kind === "message" ? <Content m={item} /> : <p className="text">{item.text}</p>}
      {item.kind === "message" && item.deleted_at && (
        <p className="amended deleted-note" data-testid="deleted-note">
          {t(deletedNoteKey(item), { time: formatTime(lang, item.deleted_at) })}
        </p>
      )}
      <div className="meta">
        {item.kind === "message" && originLabel(item) && (
          <span
            className={"origin " + item.origin}
            data-testid="origin-mark"
            data-origin={item.origin}
            title={t(originLabel(item) === "viaPhoneApp" ? "viaPhoneAppHint" : "fromHistoryHint")}
          >
            {t(originLabel(item)!)}
          </span>
        )}
        {item.kind === "message" && item.edited_at && (
          <span
            className="amended"
            data-testid="edited-mark"
            title={(item.edits ?? []).map((e) => t("editedBefore", { text: e.text, time: formatTime(lang, e.replaced_at) })).join("\n")}
          >
            {t("edited")}
          </span>
        )}
        <time>{formatTime(lang, item.created_at)}</time>
        {tick && (
          <span className={"tick " + tick.status} data-testid="tick" title={tick.pending ? t("pending") : tick.status} aria-label={tick.pending && tick.status !== "failed" ? t("pending") : tick.status}>
            {tickGlyph(tick)}
          </span>
        )}
        {item.kind === "message" && (
          <button className="link small" onClick={() => props.onReply(item)}>{t("reply")}</button>
        )}
      </div>
      {props.reactions.length > 0 && (
        <div className="reactions" data-testid="reactions">
          {props.reactions.map((r) => (
            <span
              key={r.from}
              className={"reaction-chip " + r.from}
              data-testid="reaction"
              data-from={r.from}
              title={t(r.from === "customer" ? "reactionCustomer" : "reactionBusiness", { emoji: r.emoji })}
              aria-label={t(r.from === "customer" ? "reactionCustomer" : "reactionBusiness", { emoji: r.emoji })}
            >
              {r.emoji}
            </span>
          ))}
        </div>
      )}
      {tick?.status === "failed" && (
        <div className="failure" role="alert">
          <span data-testid="failure-reason">{t("failed")}: {tick.reason}</span>
          {tick.retryable && (
            <button data-testid="retry" className="small" disabled={busy} onClick={retry}>{t("retry")}</button>
          )}
          {item.kind === "pending" && (
            <button className="small link" onClick={() => api.discard(item.client_id)}>{t("discard")}</button>
          )}
        </div>
      )}
    </div>
  );
}

function Content({ m }: { m: Message }) {
  const { t } = useUi();
  const c = m.content ?? {};
  switch (m.type) {
    case "image":
    case "sticker":
      return (
        <>
          {m.direction === "inbound" || c.media_id ? <MediaImage id={m.id} /> : null}
          {m.text && <p className="text">{m.text}</p>}
        </>
      );
    case "document":
      return <DocumentDownload id={m.id} name={c.filename ?? c.document?.filename ?? t("document")} />;
    case "audio":
    case "voice":
      return <MediaAudio id={m.id} />;
    case "media_placeholder":
      return <p className="text hint" data-testid="history-media">{t("historyMedia")}</p>;
    case "location": {
      const loc = c.location ?? c;
      const lat = loc.latitude, lon = loc.longitude;
      return (
        <p className="text">
          📍 <a href={`https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}`} target="_blank" rel="noreferrer">{loc.name ?? `${t("location")} ${lat}, ${lon}`}</a>
        </p>
      );
    }
    case "reaction":
      return <p className="text reaction">{t("reaction", { emoji: c.emoji ?? c.reaction?.emoji ?? m.text })}</p>;
    default:
      return <p className="text">{m.text || t("unsupported")}</p>;
  }
}

function useMedia(id: number, auto: boolean) {
  const [url, setUrl] = useState<string | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const load = () => api.media(id).then(setUrl, (e) => setErr(asUiError(e).message));
  useEffect(() => {
    if (auto) load();
  }, [id]); // eslint-disable-line
  return { url, err, load };
}

function MediaImage({ id }: { id: number }) {
  const { t } = useUi();
  const { url, err } = useMedia(id, true);
  if (err) return <p className="error small">{err}</p>;
  return url ? <img className="media" data-testid="media-image" src={url} alt={t("image")} /> : <div className="skeleton media" />;
}

/** A document is saved into the Downloads folder, never opened as a page in the app. */
function DocumentDownload({ id, name }: { id: number; name: string }) {
  const { t } = useUi();
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const save = async () => {
    setSaving(true);
    setErr(null);
    try {
      setSaved(await api.saveMedia(id, name));
    } catch (e) {
      setErr(asUiError(e).message);
    } finally {
      setSaving(false);
    }
  };
  const place = saved ? savedPlace(saved) : null;
  return (
    <div className="document" data-testid="document">
      <button className="link" data-testid="document-save" title={t("saveDocument")} onClick={save} disabled={saving}>
        📄 {name}
      </button>
      {saving && <p className="hint small">{t("saving")}</p>}
      {place && (
        <p className="hint small" data-testid="document-saved" data-path={saved ?? ""}>
          {t("savedAs", { file: place.file, folder: place.folder })}
        </p>
      )}
      {err && <p className="error small">{err}</p>}
    </div>
  );
}

function MediaAudio({ id }: { id: number }) {
  const { t } = useUi();
  const { url, err, load } = useMedia(id, false);
  if (err) return <p className="error small">{err}</p>;
  return url ? <audio controls src={url} /> : <button className="link" onClick={load}>▶ {t("audio")}</button>;
}

function Composer(props: { conv: Conversation; replyTo: Message | null; clearReply: () => void }) {
  const { t } = useUi();
  const [text, setText] = useState("");
  const [error, setError] = useState<UiError | null>(null);
  const [uploading, setUploading] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (props.replyTo) ref.current?.focus();
  }, [props.replyTo]);
  // A picked file goes with the composer's text as its caption.
  const attach = async (file: File) => {
    const mime = attachmentType(file.name, file.type);
    if (!mime) {
      setError({ code: "unsupported_media_type", message: t("attachmentType") });
      return;
    }
    setUploading(true);
    try {
      const data = await new Promise<string>((resolve, reject) => {
        const r = new FileReader();
        r.onload = () => resolve(String(r.result).split(",", 2)[1] ?? "");
        r.onerror = () => reject(r.error);
        r.readAsDataURL(file);
      });
      await api.sendAttachment(props.conv.id, file.name, mime, data, text.trim() || null, props.replyTo?.id ?? null);
      setText("");
      setError(null);
      props.clearReply();
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setUploading(false);
      if (fileRef.current) fileRef.current.value = "";
    }
  };
  const send = async () => {
    const body = text.trim();
    if (!body) return;
    try {
      await api.sendText(props.conv.id, body, props.replyTo?.id ?? null);
      setText("");
      setError(null);
      props.clearReply();
    } catch (e) {
      setError(asUiError(e));
    }
  };
  return (
    <form className="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      {props.replyTo && (
        <div className="replying">
          {t("replyingTo")}: <q>{props.replyTo.text}</q>
          <button type="button" className="link small" onClick={props.clearReply}>{t("cancel")}</button>
        </div>
      )}
      {error && <p className="error" role="alert">{error.message}</p>}
      <div className="row">
        <input
          ref={fileRef}
          type="file"
          hidden
          data-testid="attach-input"
          accept={ATTACHMENT_ACCEPT}
          onChange={(e) => { const f = e.target.files?.[0]; if (f) attach(f); }}
        />
        <button type="button" data-testid="attach" className="icon" title={t("attach")} aria-label={t("attach")} disabled={uploading} onClick={() => fileRef.current?.click()}>
          {uploading ? (
            "…"
          ) : (
            // A drawn paperclip: the emoji shows as an empty box where no emoji font is installed.
            <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
              <path d="M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5" />
            </svg>
          )}
        </button>
        <textarea
          ref={ref}
          data-testid="composer"
          rows={2}
          placeholder={t("composer")}
          aria-label={t("composer")}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              send();
            }
          }}
        />
        <button type="submit" data-testid="send" className="primary" disabled={!text.trim()}>{t("send")}</button>
      </div>
    </form>
  );
}

function TemplatePicker(props: { conv: Conversation; reason: string }) {
  const { t } = useUi();
  const [list, setList] = useState<Template[] | null>(null);
  const [choice, setChoice] = useState("");
  const [params, setParams] = useState<string[]>([]);
  const [headerParams, setHeaderParams] = useState<string[]>([]);
  const [error, setError] = useState<UiError | null>(null);
  useEffect(() => {
    api.templates(props.conv.phone_number_id).then((l) => setList(l.filter((x) => x.status === "APPROVED")), (e) => { setList([]); setError(asUiError(e)); });
  }, [props.conv.phone_number_id]);
  const tpl = list?.find((x) => `${x.name}|${x.language}` === choice) ?? null;
  const send = async () => {
    if (!tpl) return;
    try {
      await api.sendTemplate(props.conv.id, tpl.name, tpl.language, params.slice(0, tpl.body_params), headerParams.slice(0, tpl.header_params ?? 0));
      setChoice("");
      setParams([]);
      setHeaderParams([]);
    } catch (e) {
      setError(asUiError(e));
    }
  };
  return (
    <form className="composer template-picker" data-testid="template-picker" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <p className="hint">{props.reason}</p>
      {error && <p className="error" role="alert">{error.message}</p>}
      {list && list.length === 0 && !error && <p className="hint">{t("noTemplates")}</p>}
      <div className="row">
        <select data-testid="template-select" aria-label={t("template")} value={choice} onChange={(e) => { setChoice(e.target.value); setParams([]); setHeaderParams([]); }}>
          <option value="">{t("chooseTemplate")}</option>
          {list?.map((x) => (
            <option key={`${x.name}|${x.language}`} value={`${x.name}|${x.language}`}>{x.name} ({x.language})</option>
          ))}
        </select>
        <button type="submit" data-testid="send-template" className="primary" disabled={!tpl || !templateReady(tpl, headerParams, params)}>{t("sendTemplate")}</button>
      </div>
      {tpl && (
        <>
          {tpl.header && <p className="template-header">{tpl.header}</p>}
          {Array.from({ length: tpl.header_params ?? 0 }, (_, i) => (
            <input key={`h${i}`} data-testid="template-header-param" placeholder={t("headerParameter", { n: i + 1 })} value={headerParams[i] ?? ""} onChange={(e) => { const p = [...headerParams]; p[i] = e.target.value; setHeaderParams(p); }} />
          ))}
          <p className="template-body">{tpl.body}</p>
          {Array.from({ length: tpl.body_params }, (_, i) => (
            <input key={i} data-testid="template-param" placeholder={t("parameter", { n: i + 1 })} value={params[i] ?? ""} onChange={(e) => { const p = [...params]; p[i] = e.target.value; setParams(p); }} />
          ))}
        </>
      )}
    </form>
  );
}
