import { useEffect, useRef } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { api } from "./api";
import { useUi } from "./App";
import { formatTime } from "./i18n";
import { numberChoices, numberLabel, splitHits, tagsOf, unreadByView, type ListFilter, type View } from "./logic";
import type { Conversation, PhoneNumber, SearchHit, User } from "./types";

const ROW = 64;

export function Highlighted({ text }: { text: string }) {
  return (
    <>
      {splitHits(text).map((s, i) => (s.hit ? <mark key={i}>{s.text}</mark> : <span key={i}>{s.text}</span>))}
    </>
  );
}

export function Inbox(props: {
  all: Conversation[] | null;
  visible: Conversation[];
  me: User;
  filter: ListFilter;
  setFilter: (f: ListFilter) => void;
  hits: SearchHit[] | null;
  openId: number | null;
  cursor: number;
  onOpen: (id: number, index: number) => void;
  numbers: PhoneNumber[];
}) {
  const { t, lang } = useUi();
  const f = props.filter;
  const unread = unreadByView(props.all ?? [], f, props.me.id);
  const numbers = numberChoices(props.all ?? [], props.numbers);
  // Rows name their number once a team serves more than one.
  const rowNumbers = numbers.length > 1 ? props.numbers : null;
  const tags = tagsOf(props.all ?? []);
  // A chosen tag stays selectable even when no conversation carries it any more.
  if (f.tag !== null && !tags.includes(f.tag)) tags.push(f.tag);
  const views: View[] = props.me.role === "agent" ? ["mine", "unassigned", "all"] : ["mine", "unassigned", "all"];
  return (
    <nav className="inbox" aria-label="Inbox">
      <div className="views" role="tablist">
        {views.map((v) => (
          <button key={v} role="tab" aria-selected={f.view === v} data-testid={`view-${v}`} className={f.view === v ? "active" : ""} onClick={() => props.setFilter({ ...f, view: v })}>
            {t(v)}
            {unread[v] > 0 && <span className="badge" aria-label={String(unread[v])}>{unread[v]}</span>}
          </button>
        ))}
      </div>
      <div className="filters">
        <select data-testid="filter-number" aria-label={t("number")} value={f.number ?? ""} onChange={(e) => props.setFilter({ ...f, number: e.target.value || null })}>
          <option value="">{t("allNumbers")}</option>
          {numbers.map((n) => (
            <option key={n.id} value={n.id}>{n.label}</option>
          ))}
        </select>
        <select data-testid="filter-status" aria-label={t("status")} value={f.status ?? ""} onChange={(e) => props.setFilter({ ...f, status: e.target.value || null })}>
          <option value="">{t("anyStatus")}</option>
          <option value="open">{t("open")}</option>
          <option value="resolved">{t("resolved")}</option>
        </select>
        <select data-testid="filter-tag" aria-label={t("tags")} value={f.tag ?? ""} onChange={(e) => props.setFilter({ ...f, tag: e.target.value || null })}>
          <option value="">{t("anyTag")}</option>
          {tags.map((tag) => (
            <option key={tag} value={tag}>#{tag}</option>
          ))}
        </select>
        <label className="row small">
          <input type="checkbox" data-testid="filter-unread" checked={f.unreadOnly} onChange={(e) => props.setFilter({ ...f, unreadOnly: e.target.checked })} />
          {t("unreadOnly")}
        </label>
      </div>
      {props.hits ? (
        <SearchResults hits={props.hits} cursor={props.cursor} onOpen={props.onOpen} />
      ) : props.all === null ? (
        <div className="skeleton-list" aria-busy="true">
          {Array.from({ length: 8 }, (_, i) => <div key={i} className="skeleton" />)}
        </div>
      ) : props.visible.length === 0 ? (
        <p className="empty" data-testid="empty-inbox">{t("emptyInbox")}</p>
      ) : (
        <ConversationList list={props.visible} openId={props.openId} cursor={props.cursor} onOpen={props.onOpen} lang={lang} numbers={rowNumbers} />
      )}
    </nav>
  );
}

// The desktop benchmark's "inbox usable" signal: once, after the first frame showing rows is painted.
let benchReported = false;
function reportFirstRows(rows: number) {
  if (benchReported) return;
  benchReported = true;
  requestAnimationFrame(() => setTimeout(() => api.benchReady(rows).catch(() => {}), 0));
}

function ConversationList(props: { list: Conversation[]; openId: number | null; cursor: number; onOpen: (id: number, i: number) => void; lang: "en" | "de"; numbers: PhoneNumber[] | null }) {
  const parent = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({ count: props.list.length, getScrollElement: () => parent.current, estimateSize: () => ROW, overscan: 8 });
  useEffect(() => {
    if (props.cursor >= 0) v.scrollToIndex(props.cursor);
  }, [props.cursor, v]);
  useEffect(() => {
    if (parent.current?.querySelector('[data-testid="conversation"]')) reportFirstRows(props.list.length);
  });
  const now = Date.now();
  return (
    <div ref={parent} className="list" role="listbox" data-testid="conversation-list" data-count={props.list.length}>
      <div style={{ height: v.getTotalSize(), position: "relative" }}>
        {v.getVirtualItems().map((row) => {
          const c = props.list[row.index];
          const name = c.contact.name ?? (c.contact.wa_id ? "+" + c.contact.wa_id : c.contact.username ?? "?");
          return (
            <div
              key={c.id}
              role="option"
              aria-selected={c.id === props.openId}
              data-testid="conversation"
              data-conversation-id={c.id}
              data-unread={c.unread_count}
              className={"row-item" + (c.id === props.openId ? " open" : "") + (row.index === props.cursor ? " cursor" : "") + (c.unread_count > 0 ? " unread" : "")}
              style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW, transform: `translateY(${row.start}px)` }}
              onClick={() => props.onOpen(c.id, row.index)}
            >
              <div className="line1">
                <span className="name">{name}</span>
                <time>{formatTime(props.lang, c.last_message_at, now)}</time>
              </div>
              <div className="line2">
                <span className="preview">{c.last_message_preview}</span>
                {props.numbers && (
                  <span className="row-number" data-testid="row-number">
                    {numberLabel(c.phone_number_id, props.numbers)}
                  </span>
                )}
                {(c.contact.tags ?? []).length > 0 && (
                  <span className="row-tags" data-testid="row-tags">
                    {(c.contact.tags ?? []).slice(0, 2).map((tag) => `#${tag}`).join(" ")}
                  </span>
                )}
                {c.unread_count > 0 && <span className="badge" data-testid="unread-count">{c.unread_count}</span>}
              </div>
            </div>
          );
        })}
      </div>
    </div>
  );
}

function SearchResults(props: { hits: SearchHit[]; cursor: number; onOpen: (id: number, i: number) => void }) {
  const { t } = useUi();
  if (props.hits.length === 0) return <p className="empty">{t("emptySearch")}</p>;
  return (
    <div className="list" role="listbox" data-testid="search-results">
      {props.hits.map((h, i) => (
        <div key={`${h.conversation_id}-${h.message_id}-${i}`} role="option" aria-selected={i === props.cursor} data-testid="search-hit" className={"row-item" + (i === props.cursor ? " cursor" : "")} onClick={() => props.onOpen(h.conversation_id, i)}>
          <div className="line1">
            <span className="name">{h.contact_name ?? "?"}</span>
          </div>
          <div className="line2 snippet">
            <Highlighted text={h.snippet} />
          </div>
        </div>
      ))}
    </div>
  );
}
