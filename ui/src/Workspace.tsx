import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "./api";
import { useUi, type Prefs } from "./App";
import { Inbox } from "./Inbox";
import { ConversationView } from "./ConversationView";
import { MonitorView } from "./Monitor";
import { AdminView, showsAdmin } from "./Admin";
import { ReviewView } from "./Review";
import { AlertBell } from "./Alerts";
import { formatTime } from "./i18n";
import { CustomerExtras, StatusMenu } from "./Team";
import { CustomerGovernance } from "./DataGovernance";
import { ExportCustomer } from "./ExportData";
import { can, defaultFilter, filterConversations, marketingState, upsert, visibleTo, type ListFilter } from "./logic";
import type { Change, ConnectionState, Conversation, Directory, PhoneNumber, Presence, SearchHit, User } from "./types";

/** The signed-in app: one small store (conversations, selection, state) fed by change events. */
export function Workspace(props: { me: User; initialState: ConnectionState; initialMuted: boolean; initialPresence: Presence; prefs: Prefs; onSignedOut: () => void; onUser: (u: User) => void }) {
  const { t, lang } = useUi();
  const [all, setAll] = useState<Conversation[] | null>(null);
  const [filter, setFilter] = useState<ListFilter>(defaultFilter);
  const [openId, setOpenId] = useState<number | null>(null);
  const [cursor, setCursor] = useState(-1);
  const [state, setState] = useState<ConnectionState>(props.initialState);
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [timelineTick, setTimelineTick] = useState(0);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [muted, setMuted] = useState(props.initialMuted);
  const [showPanel, setShowPanel] = useState(true);
  const [presence, setPresence] = useState<Presence>(props.initialPresence);
  const [directory, setDirectory] = useState<Directory | null>(null);
  const [monitorOpen, setMonitorOpen] = useState(false);
  const [adminOpen, setAdminOpen] = useState(false);
  const [reviewOpen, setReviewOpen] = useState(false);
  const [numbers, setNumbers] = useState<PhoneNumber[]>([]);
  const [contactsTick, setContactsTick] = useState(0);
  const allRef = useRef<Conversation[] | null>(null);
  allRef.current = all;
  const searchRef = useRef<HTMLInputElement>(null);
  const notifiedRef = useRef<number | null>(null);
  const stateEvents = useRef(0);
  const openRef = useRef<number | null>(null);
  openRef.current = openId;

  const reloadAll = useCallback(() => {
    api.conversations({ view: "all" }).then(setAll, () => setAll((a) => a ?? []));
  }, []);

  const refreshConversations = useCallback((ids: number[]) => {
    Promise.all(ids.map((id) => api.conversation(id).then((x) => ({ x }), () => ({ gone: id })))).then((res) => {
      const changed = res.flatMap((r) => ("x" in r ? [r.x] : []));
      const removed = res.flatMap((r) => ("gone" in r ? [r.gone] : []));
      setAll((list) => upsert(list ?? [], changed, removed));
    });
  }, []);

  // Colleagues and teams (names of assignees, transfer targets): fetched when needed.
  const loadDirectory = useCallback(() => {
    api.directory().then(setDirectory, () => {});
  }, []);
  useEffect(loadDirectory, [loadDirectory]);
  // Business numbers by name (the list rarely changes: read whenever the relay is reached).
  const loadNumbers = useCallback(() => {
    api.numbers().then(setNumbers, () => {});
  }, []);
  useEffect(() => {
    if (state === "online") loadNumbers();
  }, [state, loadNumbers]);

  useEffect(() => {
    reloadAll();
    const unlisten = [
      api.onChange((c: Change) => {
        switch (c.type) {
          case "conversations":
            if (c.ids.length > 200) return reloadAll();
            refreshConversations(c.ids);
            break;
          case "contacts": {
            // Tags or notes changed: the conversations of these customers carry the contact.
            const ids = new Set(c.ids);
            const convs = (allRef.current ?? []).filter((x) => ids.has(x.contact.id)).map((x) => x.id);
            if (convs.length > 200) reloadAll();
            else if (convs.length > 0) refreshConversations(convs);
            setContactsTick((n) => n + 1);
            break;
          }
          case "timeline":
            if (c.conversation_id === openRef.current) setTimelineTick((n) => n + 1);
            break;
          case "outbox":
            setTimelineTick((n) => n + 1);
            break;
          case "state":
            stateEvents.current += 1;
            setState(c.state);
            break;
          case "resync":
            reloadAll();
            setTimelineTick((n) => n + 1);
            break;
          case "user":
            // An admin changed the role or its permissions: screens follow at once.
            props.onUser(c.user);
            break;
        }
      }),
      api.onNotified((id) => {
        notifiedRef.current = id;
      }),
      // A click on the notification itself (where the notification server reports it).
      api.onOpenConversation((id) => {
        notifiedRef.current = null;
        setMonitorOpen(false);
        setOpenId(id);
      }),
      api.onPresence(setPresence),
    ];
    // The state may have moved before we listened (sign-in starts syncing at once).
    // Only if no state event came meanwhile: an answer read before a newer event must not
    // overwrite it (the app would show "connecting" while online).
    Promise.all(unlisten).then(() => {
      const seen = stateEvents.current;
      api.appInfo().then((i) => stateEvents.current === seen && setState(i.state), () => {});
    });
    // Clicking a notification brings the window forward: open what it was about.
    const onFocus = () => {
      if (notifiedRef.current !== null) {
        setOpenId(notifiedRef.current);
        notifiedRef.current = null;
      }
    };
    window.addEventListener("focus", onFocus);
    return () => {
      window.removeEventListener("focus", onFocus);
      unlisten.forEach((p) => p.then((f) => f()));
    };
  }, [reloadAll, refreshConversations]);

  // Local search: instant, from the cache.
  useEffect(() => {
    const q = query.trim();
    if (!q) return setHits(null);
    let live = true;
    api.search(q, 50).then((h) => live && setHits(h), () => live && setHits([]));
    return () => {
      live = false;
    };
  }, [query]);

  const visible = useMemo(() => filterConversations(all ?? [], filter, props.me.id), [all, filter, props.me.id]);
  const openConv = useMemo(() => (all ?? []).find((c) => c.id === openId) ?? null, [all, openId]);

  const open = useCallback((id: number) => {
    setOpenId(id);
    setMonitorOpen(false);
  }, []);
  // An action's answer shows at once; a conversation transferred away leaves an agent's list.
  // The cache (fed by the change feed) has the last word a moment later.
  const updated = useCallback(
    (c: Conversation) => {
      const keep = visibleTo(c, props.me);
      setAll((list) => upsert(list ?? [], keep ? [c] : [], keep ? [] : [c.id]));
      setTimeout(() => refreshConversations([c.id]), 1500);
    },
    [props.me, refreshConversations],
  );

  // Keyboard: Ctrl/Cmd+K or "/" focuses search; arrows move; Enter opens; Escape leaves search.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const el = e.target as HTMLElement;
      const typing = el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el !== searchRef.current) || el.tagName === "SELECT";
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "k") {
        e.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
        return;
      }
      if (e.key === "/" && !typing && el !== searchRef.current) {
        e.preventDefault();
        searchRef.current?.focus();
        return;
      }
      if (typing) return;
      // Letters are text in the search box; elsewhere they are shortcuts.
      const letter = el !== searchRef.current && !e.ctrlKey && !e.metaKey && !e.altKey;
      const len = hits ? hits.length : visible.length;
      if (e.key === "ArrowDown" || (letter && e.key === "j")) {
        e.preventDefault();
        setCursor((c) => Math.min(len - 1, c + 1));
      } else if (e.key === "ArrowUp" || (letter && e.key === "k")) {
        e.preventDefault();
        setCursor((c) => Math.max(0, c - 1));
      } else if (e.key === "Enter" && cursor >= 0) {
        e.preventDefault();
        const id = hits ? hits[cursor]?.conversation_id : visible[cursor]?.id;
        if (id !== undefined) open(id);
      } else if (letter && ["a", "e", "t"].includes(e.key)) {
        // Triage keys on the open conversation: a = assign to me, e = resolve, t = transfer.
        const id = { a: "assign-to-me", e: "resolve", t: "transfer" }[e.key as "a" | "e" | "t"];
        const b = document.querySelector<HTMLButtonElement>(`[data-testid=conversation-view] [data-testid=${id}]`);
        if (b && !b.disabled) {
          e.preventDefault();
          b.click();
        }
      } else if (e.key === "Escape" && query) {
        setQuery("");
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [hits, visible, cursor, open, query]);

  const stateLabel = t(state);
  return (
    <div className={"workspace" + (showPanel ? " with-panel" : "")}>
      <header className="topbar">
        <input
          ref={searchRef}
          data-testid="search"
          type="search"
          className="search"
          placeholder={t("search")}
          aria-label={t("search")}
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            setCursor(-1);
          }}
        />
        <StatusMenu presence={presence} setPresence={setPresence} />
        <span data-testid="connection-state" data-state={state} className={"conn " + state} role="status" title={stateLabel}>
          <span className="dot" aria-hidden /> {state === "offline" ? t("offline") : stateLabel}
        </span>
        {can(props.me, "monitor") && (
          <button
            data-testid="open-monitor"
            aria-pressed={monitorOpen}
            className={monitorOpen ? "active" : ""}
            onClick={() => {
              setAdminOpen(false);
              setReviewOpen(false);
              setMonitorOpen((x) => !x);
            }}
          >
            {t("monitor")}
          </button>
        )}
        {showsAdmin(props.me) && (
          <button
            data-testid="open-admin"
            aria-pressed={adminOpen}
            className={adminOpen ? "active" : ""}
            onClick={() => {
              setMonitorOpen(false);
              setReviewOpen(false);
              setAdminOpen((x) => !x);
            }}
          >
            {t("admin")}
          </button>
        )}
        {can(props.me, "review_blocked") && (
          <button
            data-testid="open-review"
            aria-pressed={reviewOpen}
            className={reviewOpen ? "active" : ""}
            onClick={() => {
              setMonitorOpen(false);
              setAdminOpen(false);
              setReviewOpen((x) => !x);
            }}
          >
            {t("review")}
          </button>
        )}
        <AlertBell
          all={all ?? []}
          onOpen={(id) => {
            setMonitorOpen(false);
            setAdminOpen(false);
            setReviewOpen(false);
            open(id);
          }}
        />
        <button className="icon" data-testid="toggle-panel" onClick={() => setShowPanel((s) => !s)} aria-label={t("customer")}>
          ☰
        </button>
        <button className="icon" data-testid="settings" onClick={() => setSettingsOpen(true)} aria-label={t("settings")}>
          ⚙
        </button>
      </header>
      <Inbox
        all={all}
        visible={visible}
        me={props.me}
        filter={filter}
        setFilter={(f) => {
          setFilter(f);
          setCursor(-1);
        }}
        hits={hits}
        openId={openId}
        cursor={cursor}
        onOpen={(id, index) => {
          setCursor(index);
          open(id);
        }}
        numbers={numbers}
      />
      {reviewOpen && can(props.me, "review_blocked") ? (
        <ReviewView
          all={all ?? []}
          directory={directory}
          onOpen={(id) => {
            setReviewOpen(false);
            open(id);
          }}
          onClose={() => setReviewOpen(false)}
        />
      ) : adminOpen && showsAdmin(props.me) ? (
        <AdminView me={props.me} onClose={() => setAdminOpen(false)} onNumbers={loadNumbers} />
      ) : monitorOpen && can(props.me, "monitor") ? (
        <MonitorView all={all ?? []} onOpen={open} onClose={() => setMonitorOpen(false)} />
      ) : openConv ? (
        <ConversationView
          key={openConv.id}
          conv={openConv}
          me={props.me}
          online={state === "online"}
          numbers={numbers}
          tick={timelineTick}
          directory={directory}
          loadDirectory={loadDirectory}
          onUpdated={updated}
        />
      ) : (
        <section className="conversation empty-state">
          <p>{t("pickConversation")}</p>
        </section>
      )}
      {showPanel && !(monitorOpen && can(props.me, "monitor")) && !(adminOpen && showsAdmin(props.me)) && !(reviewOpen && can(props.me, "review_blocked")) && (
        <aside className="panel" data-testid="customer-panel">
          {openConv && (
            <>
              <h2>{t("customer")}</h2>
              <dl>
                <dt>{t("name")}</dt>
                <dd data-testid="customer-name">{openConv.contact.name ?? "—"}</dd>
                {openConv.contact.app_name && (
                  <>
                    <dt>{t("savedInPhoneApp")}</dt>
                    <dd data-testid="customer-app-name">{openConv.contact.app_name}</dd>
                  </>
                )}
                <dt>{t("number")}</dt>
                <dd data-testid="customer-number">{openConv.contact.wa_id ? "+" + openConv.contact.wa_id : openConv.contact.username ?? "—"}</dd>
                <dt>{t("status")}</dt>
                <dd>{openConv.status === "resolved" ? t("resolved") : t("open")}</dd>
                <dt>{t("marketingMessages")}</dt>
                <dd data-testid="customer-marketing" data-stopped={marketingState(openConv.contact.marketing).stopped} className={marketingState(openConv.contact.marketing).stopped ? "warn" : ""}>
                  {t(marketingState(openConv.contact.marketing).key, { time: openConv.contact.marketing ? formatTime(lang, openConv.contact.marketing.at) : "" })}
                </dd>
              </dl>
              {can(props.me, "export") && <ExportCustomer contactId={openConv.contact.id} />}
              {can(props.me, "manage_data") && <CustomerGovernance key={`gov-${openConv.id}`} conv={openConv} />}
              <CustomerExtras
                key={openConv.contact.id}
                conv={openConv}
                contactsTick={contactsTick}
                onUpdated={(tags) => {
                  const cid = openConv.contact.id;
                  setAll((list) => (list ?? []).map((c) => (c.contact.id === cid ? { ...c, contact: { ...c.contact, tags } } : c)));
                }}
              />
            </>
          )}
        </aside>
      )}
      {settingsOpen && (
        <Settings
          prefs={props.prefs}
          idleMinutes={presence.idle_minutes}
          setIdleMinutes={(n) => {
            const before = presence.idle_minutes;
            setPresence((p) => ({ ...p, idle_minutes: n }));
            api.setIdleMinutes(n).catch(() => setPresence((p) => ({ ...p, idle_minutes: before })));
          }}
          muted={muted}
          setMuted={(m) => {
            setMuted(m);
            api.setMuted(m).catch(() => setMuted(!m));
          }}
          onClose={() => setSettingsOpen(false)}
          onSignOut={(wipe) => api.signOut(wipe).then(props.onSignedOut)}
        />
      )}
    </div>
  );
}

function Settings(props: { prefs: Prefs; idleMinutes: number; setIdleMinutes: (n: number) => void; muted: boolean; setMuted: (m: boolean) => void; onClose: () => void; onSignOut: (wipe: boolean) => void }) {
  const { t } = useUi();
  const [wipe, setWipe] = useState(false);
  return (
    <div className="modal-backdrop" onClick={props.onClose}>
      <div className="modal card" role="dialog" aria-modal="true" aria-label={t("settings")} onClick={(e) => e.stopPropagation()} onKeyDown={(e) => e.key === "Escape" && props.onClose()}>
        <h2>{t("settings")}</h2>
        <label className="row">
          <input type="checkbox" data-testid="mute" checked={props.muted} onChange={(e) => props.setMuted(e.target.checked)} autoFocus />
          {t("mute")}
        </label>
        <label>
          {t("language")}
          <select data-testid="language" value={props.prefs.langPref} onChange={(e) => props.prefs.setLangPref(e.target.value as any)}>
            <option value="system">{t("system")}</option>
            <option value="en">English</option>
            <option value="de">Deutsch</option>
          </select>
        </label>
        <label>
          {t("theme")}
          <select data-testid="theme" value={props.prefs.themePref} onChange={(e) => props.prefs.setThemePref(e.target.value as any)}>
            <option value="system">{t("system")}</option>
            <option value="light">{t("light")}</option>
            <option value="dark">{t("dark")}</option>
          </select>
        </label>
        <label>
          {t("idleMinutes")}
          <input
            type="number"
            data-testid="idle-minutes"
            min={0}
            max={240}
            step={1}
            value={props.idleMinutes}
            onChange={(e) => {
              const n = Math.round(Number(e.target.value));
              if (Number.isFinite(n) && n >= 0 && n <= 240) props.setIdleMinutes(n);
            }}
          />
        </label>
        <hr />
        <label className="row">
          <input type="checkbox" checked={wipe} onChange={(e) => setWipe(e.target.checked)} />
          {t("wipeCache")}
        </label>
        <div className="actions">
          <button data-testid="sign-out" className="danger" onClick={() => props.onSignOut(wipe)}>{t("signOut")}</button>
          <button data-testid="settings-close" onClick={props.onClose}>{t("close")}</button>
        </div>
      </div>
    </div>
  );
}
