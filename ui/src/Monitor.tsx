// The supervisor monitor: who is online and how loaded, first response times, the queues and who
// waits too long. Fetched from the relay while visible: every few seconds, and (throttled) when the
// change feed reports conversation changes. Rows keep a fixed order so numbers update in place.
import { Fragment, useEffect, useRef, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { formatTime, type Key } from "./i18n";
import { byRecency, formatDuration, loadLevel, nextFetchDelay, sortAgents } from "./logic";
import { ErrorNote } from "./Team";
import { AgentMonth, WaitingQueue } from "./SupervisorQueue";
import type { Change, Conversation, Monitor, UiError } from "./types";

const EVERY_MS = 5000;
const MIN_GAP_MS = 1500;

export function MonitorView(props: { all: Conversation[]; onOpen: (conversationId: number) => void; onClose: () => void }) {
  const { t, lang } = useUi();
  const [m, setM] = useState<Monitor | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [expanded, setExpanded] = useState<number | null>(null);
  const last = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    let live = true;
    const fetchNow = () => {
      last.current = Date.now();
      api.monitor().then(
        (x) => {
          if (!live) return;
          setM(x);
          setError(null);
        },
        (e) => live && setError(asUiError(e)),
      );
    };
    const schedule = () => {
      // Only while someone can see it (not minimised or hidden).
      if (timer.current !== null || document.hidden) return;
      timer.current = setTimeout(() => {
        timer.current = null;
        fetchNow();
      }, nextFetchDelay(last.current, Date.now(), MIN_GAP_MS));
    };
    fetchNow();
    const every = setInterval(schedule, EVERY_MS);
    document.addEventListener("visibilitychange", schedule);
    const unlisten = api.onChange((c: Change) => {
      if (c.type === "conversations" || c.type === "resync" || (c.type === "state" && c.state === "online")) schedule();
    });
    return () => {
      live = false;
      clearInterval(every);
      document.removeEventListener("visibilitychange", schedule);
      if (timer.current !== null) clearTimeout(timer.current);
      timer.current = null;
      unlisten.then((f) => f());
    };
  }, []);

  const nf = new Intl.NumberFormat(lang);
  const name = (c: Conversation) => c.contact.name ?? (c.contact.wa_id ? "+" + c.contact.wa_id : "?");
  const byId = new Map(props.all.map((c) => [c.id, c]));
  return (
    <section className="conversation monitor" data-testid="monitor" aria-label={t("monitor")}>
      <header className="conv-head">
        <h2>{t("monitor")}</h2>
        {m && <small className="hint" data-testid="monitor-at">{t("monitorUpdated", { time: formatTime(lang, m.at) })}</small>}
        <button data-testid="close-monitor" onClick={props.onClose}>
          {t("closeMonitor")}
        </button>
      </header>
      <div className="monitor-body">
        {error && <ErrorNote error={error} testid="monitor-error" />}
        {!m && !error && <div className="skeleton tall" />}
        {m && (
          <>
            <div className="summary" data-testid="monitor-summary">
              <div>
                <span className="label">{t("queue")}</span>
                <strong data-testid="monitor-queue">{nf.format(m.queue_length)}</strong>
              </div>
              <div>
                <span className="label">{t("longestWait")}</span>
                <strong>{formatDuration(m.longest_wait_s, lang)}</strong>
              </div>
              <div>
                <span className="label">{t("firstResponse")}</span>
                <strong>
                  {formatDuration(m.first_response.avg_s, lang)} · {formatDuration(m.first_response.median_s, lang)}
                </strong>
              </div>
              <div>
                <span className="label">{t("overdue")}</span>
                <strong className={m.overdue.length > 0 ? "warn" : ""}>{nf.format(m.overdue.length)}</strong>
              </div>
            </div>

            <table className="monitor-table">
              <thead>
                <tr>
                  <th scope="col">{t("agent")}</th>
                  <th scope="col">{t("presence")}</th>
                  <th scope="col" className="num">{t("openCapacity")}</th>
                  <th scope="col" className="num">{t("firstResponse")}</th>
                  <th scope="col" className="num">{t("resolvedHour")}</th>
                  <th scope="col" className="num">{t("overdue")}</th>
                </tr>
              </thead>
              <tbody>
                {sortAgents(m.agents).map((a) => {
                  const load = loadLevel(a.open, a.capacity);
                  const open = expanded === a.id;
                  const convs = props.all.filter((c) => c.assignee_id === a.id && c.status === "open").sort(byRecency);
                  return (
                    <Fragment key={a.id}>
                      <tr
                        data-testid="monitor-agent"
                        data-agent-id={a.id}
                        data-presence={a.presence}
                        data-load={load}
                        className={"agent-row" + (open ? " expanded" : "")}
                        tabIndex={0}
                        aria-expanded={open}
                        onClick={() => setExpanded(open ? null : a.id)}
                        onKeyDown={(e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), setExpanded(open ? null : a.id))}
                      >
                        <th scope="row">{a.name}</th>
                        <td>
                          <span className={"presence " + a.presence}>{t(`presence_${a.presence}` as Key)}</span>
                          {a.status !== a.presence && <small className="hint"> ({t(`presence_${a.status}` as Key)})</small>}
                        </td>
                        <td className={"num load " + load}>
                          {nf.format(a.open)} / {nf.format(a.capacity)}
                        </td>
                        <td className="num">
                          {formatDuration(a.first_response.avg_s, lang)} · {formatDuration(a.first_response.median_s, lang)}
                        </td>
                        <td className="num">{nf.format(a.resolved_last_hour)}</td>
                        <td className={"num" + (a.overdue > 0 ? " warn" : "")}>{nf.format(a.overdue)}</td>
                      </tr>
                      {open && (
                        <tr className="agent-convs">
                          <td colSpan={6}>
                            <AgentMonth agentId={a.id} />
                            <p className="hint">{t("agentConversations", { name: a.name })}</p>
                            {convs.length === 0 && <p className="hint">{t("noOpen")}</p>}
                            <ul>
                              {convs.map((c) => (
                                <li key={c.id}>
                                  <button className="link" data-testid="monitor-conversation" data-conversation-id={c.id} onClick={() => props.onOpen(c.id)}>
                                    {name(c)}
                                  </button>{" "}
                                  <small className="hint">{c.last_message_preview}</small>
                                </li>
                              ))}
                            </ul>
                          </td>
                        </tr>
                      )}
                    </Fragment>
                  );
                })}
              </tbody>
            </table>

            {m.teams.length > 0 && (
            <table className="monitor-table">
              <thead>
                <tr>
                  <th scope="col">{t("team")}</th>
                  <th scope="col" className="num">{t("presence_online")}</th>
                  <th scope="col" className="num">{t("openCapacity")}</th>
                  <th scope="col" className="num">{t("queue")}</th>
                  <th scope="col" className="num">{t("longestWait")}</th>
                  <th scope="col" className="num">{t("overdue")}</th>
                </tr>
              </thead>
              <tbody>
                {[...m.teams].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id).map((x) => (
                  <tr key={x.id} data-testid="monitor-team" data-team-id={x.id}>
                    <th scope="row">{x.name}</th>
                    <td className="num">
                      {nf.format(x.online)} / {nf.format(x.members.length)}
                    </td>
                    <td className={"num load " + loadLevel(x.open, x.capacity)}>
                      {nf.format(x.open)} / {nf.format(x.capacity)}
                    </td>
                    <td className="num">{nf.format(x.queue_length)}</td>
                    <td className="num">{formatDuration(x.longest_wait_s, lang)}</td>
                    <td className={"num" + (x.overdue > 0 ? " warn" : "")}>{nf.format(x.overdue)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            )}

            <WaitingQueue monitor={m} all={props.all} onOpen={props.onOpen} />

            {m.overdue.length > 0 && (
              <>
                <h3>{t("waitingTooLong")}</h3>
                <ul className="overdue">
                  {m.overdue.map((o) => {
                    const c = byId.get(o.conversation_id);
                    const agent = m.agents.find((a) => a.id === o.assignee_id);
                    return (
                      <li key={o.conversation_id} data-testid="monitor-overdue">
                        <button className="link" onClick={() => props.onOpen(o.conversation_id)}>
                          {c ? name(c) : `#${o.conversation_id}`}
                        </button>{" "}
                        <small className="hint">
                          {agent ? agent.name + " · " : ""}
                          {t("waiting", { time: formatDuration(o.waiting_s, lang) })}
                        </small>
                      </li>
                    );
                  })}
                </ul>
              </>
            )}
          </>
        )}
      </div>
    </section>
  );
}
