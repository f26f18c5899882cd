// Escalation alerts: the bell in the top bar with the number of customers waiting too long that
// nobody looked at yet, and the list behind it. Alerts come from the local cache (an alert raised
// while the app was closed arrives with the next catch-up); opening the list marks them seen.
import { useEffect, useState } from "react";
import { api } from "./api";
import { useUi } from "./App";
import { formatTime } from "./i18n";
import { formatDuration } from "./logic";
import { lastSeq, sortAlerts } from "./routingForms";
import type { Alerts, Change, Conversation } from "./types";

export function AlertBell(props: { all: Conversation[]; onOpen: (conversationId: number) => void }) {
  const { t, lang } = useUi();
  const [alerts, setAlerts] = useState<Alerts>({ items: [], unseen: 0 });
  const [open, setOpen] = useState(false);

  useEffect(() => {
    let live = true;
    const load = () => api.alerts().then((a) => live && setAlerts(a), () => {});
    load();
    const unlisten = api.onChange((c: Change) => {
      // New alerts, and replies or resolutions that end them.
      if (c.type === "alerts" || c.type === "timeline" || c.type === "conversations" || c.type === "resync") load();
    });
    return () => {
      live = false;
      unlisten.then((f) => f());
    };
  }, []);

  // While the list is open, what it shows counts as seen: also alerts arriving meanwhile.
  const upTo = lastSeq(alerts.items);
  const anyUnseen = alerts.items.some((x) => !x.seen);
  useEffect(() => {
    if (!open || !anyUnseen || upTo === 0) return;
    api.markAlertsSeen(upTo).then(
      (unseen) => setAlerts((a) => ({ items: a.items.map((x) => (x.seq <= upTo ? { ...x, seen: true } : x)), unseen })),
      () => {},
    );
  }, [open, anyUnseen, upTo]);
  const toggle = () => setOpen((o) => !o);
  const byId = new Map(props.all.map((c) => [c.id, c]));
  const name = (id: number) => {
    const c = byId.get(id);
    return c ? (c.contact.name ?? (c.contact.wa_id ? "+" + c.contact.wa_id : `#${id}`)) : `#${id}`;
  };
  const now = Date.now();
  return (
    <div className="alert-bell">
      <button
        className={"icon" + (alerts.unseen > 0 ? " warn" : "")}
        data-testid="alerts"
        data-unseen={alerts.unseen}
        aria-expanded={open}
        aria-label={t("alertsLabel", { n: alerts.unseen })}
        title={t("alertsLabel", { n: alerts.unseen })}
        onClick={toggle}
      >
        <svg className="bell" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
          <path fill="currentColor" d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z" />
        </svg>
        {alerts.unseen > 0 && <span className="badge" data-testid="alerts-badge">{alerts.unseen}</span>}
      </button>
      {open && (
        <div className="alert-list card" role="dialog" aria-label={t("alertsTitle")} data-testid="alert-list">
          <h3>{t("alertsTitle")}</h3>
          {alerts.items.length === 0 && <p className="hint">{t("noAlerts")}</p>}
          <ul>
            {sortAlerts(alerts.items).map((a) => (
              <li key={a.seq} data-testid="alert" data-kind={a.kind} data-applies={a.applies} className={a.applies ? "" : "done"}>
                <button
                  className="link"
                  onClick={() => {
                    setOpen(false);
                    props.onOpen(a.conversation_id);
                  }}
                >
                  {name(a.conversation_id)}
                </button>{" "}
                <small className={a.kind === "overdue" ? "warn" : "hint"}>
                  {t(a.kind === "overdue" ? "alertOverdue" : "alertWaiting")}
                  {" · "}
                  {a.applies ? t("waiting", { time: formatDuration((now - a.waiting_since) / 1000, lang) }) : t("alertAnswered")}
                  {" · "}
                  {formatTime(lang, a.at || a.waiting_since)}
                </small>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
