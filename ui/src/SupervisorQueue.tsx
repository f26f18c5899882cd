// The supervisor's queue and an agent's month, inside the monitor. The queue lists who waits for an
// agent, for how long and why nobody has them yet (nobody online, the team offline, a skill
// missing, everyone busy), with an assign action; the report gives an agent's last 30 days.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import type { Key } from "./i18n";
import { formatDuration } from "./logic";
import { reasonKey } from "./routingForms";
import { ErrorNote } from "./Team";
import type { AgentReport, Conversation, Monitor, QueuedConversation, UiError } from "./types";

export function WaitingQueue(props: { monitor: Monitor; all: Conversation[]; onOpen: (conversationId: number) => void }) {
  const { t, lang } = useUi();
  const [queue, setQueue] = useState<QueuedConversation[] | null>(null);
  const [chosen, setChosen] = useState<Record<number, number>>({});
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState<number | null>(null);
  const load = () => api.waitingQueue().then(setQueue, (e) => setError(asUiError(e)));
  // Read again with every monitor refresh (it follows the change feed).
  useEffect(() => {
    load();
  }, [props.monitor.at]); // eslint-disable-line

  const byId = new Map(props.all.map((c) => [c.id, c]));
  const teamName = (id: number | null) => props.monitor.teams.find((x) => x.id === id)?.name;
  const agents = [...props.monitor.agents].sort((a, b) => Number(b.presence === "online") - Number(a.presence === "online") || a.name.localeCompare(b.name));
  const assign = async (q: QueuedConversation) => {
    const agent = chosen[q.conversation_id] ?? agents[0]?.id;
    if (agent === undefined) return;
    setBusy(q.conversation_id);
    setError(null);
    try {
      // A supervisor's assignment is deliberate: past capacity or presence too.
      await api.assign(q.conversation_id, { agentId: agent }, true);
      await load();
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(null);
    }
  };
  return (
    <section data-testid="waiting-queue" aria-label={t("waitingQueue")}>
      <h3>
        {t("waitingQueue")} {queue && <span className="hint">({queue.length})</span>}
      </h3>
      {error && <ErrorNote error={error} testid="queue-error" onDismiss={() => setError(null)} />}
      {queue && queue.length === 0 && <p className="hint">{t("queueEmpty")}</p>}
      {queue && queue.length > 0 && (
        <table className="monitor-table">
          <thead>
            <tr>
              <th scope="col">{t("customer")}</th>
              <th scope="col" className="num">{t("longestWait")}</th>
              <th scope="col">{t("whyWaiting")}</th>
              <th scope="col">{t("assignTo")}</th>
            </tr>
          </thead>
          <tbody>
            {queue.map((q) => {
              const c = byId.get(q.conversation_id);
              const who = c ? (c.contact.name ?? (c.contact.wa_id ? "+" + c.contact.wa_id : `#${q.conversation_id}`)) : `#${q.conversation_id}`;
              const team = teamName(q.team_id);
              return (
                <tr key={q.conversation_id} data-testid="queued" data-conversation-id={q.conversation_id} data-reason={q.reason}>
                  <th scope="row">
                    <button className="link" onClick={() => props.onOpen(q.conversation_id)}>
                      {who}
                    </button>
                    {q.priority > 0 && <span className="tag">{t("priority")}</span>}
                  </th>
                  <td className="num">{formatDuration(q.waiting_s, lang)}</td>
                  <td>
                    {t(reasonKey(q.reason), { team: team ?? "", skills: q.required_skills.join(", ") })}
                    {team && q.reason !== "team_offline" && <small className="hint"> · {team}</small>}
                  </td>
                  <td className="row-actions">
                    <select
                      data-testid="queued-agent"
                      aria-label={t("assignTo")}
                      value={chosen[q.conversation_id] ?? agents[0]?.id ?? ""}
                      onChange={(e) => setChosen((m) => ({ ...m, [q.conversation_id]: Number(e.target.value) }))}
                    >
                      {agents.map((a) => (
                        <option key={a.id} value={a.id}>
                          {a.name} ({t(`presence_${a.presence}` as Key)}, {a.open}/{a.capacity})
                        </option>
                      ))}
                    </select>
                    <button data-testid="queued-assign" disabled={busy === q.conversation_id || agents.length === 0} onClick={() => assign(q)}>
                      {t("assign")}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** An agent's last 30 days: conversations, resolved, first response and resolution times. */
export function AgentMonth(props: { agentId: number }) {
  const { t, lang } = useUi();
  const [r, setR] = useState<AgentReport | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  useEffect(() => {
    api.agentReport(props.agentId, 30).then(setR, (e) => setError(asUiError(e)));
  }, [props.agentId]);
  if (error) return <ErrorNote error={error} testid="report-error" />;
  if (!r) return <div className="skeleton" />;
  const nf = new Intl.NumberFormat(lang);
  const d = (s: number | null) => formatDuration(s, lang);
  return (
    <dl className="agent-month" data-testid="agent-month" data-conversations={r.conversations} data-resolved={r.resolved}>
      <div>
        <dt>{t("last30Days")}</dt>
        <dd>{t("conversationsN", { n: nf.format(r.conversations) })}</dd>
      </div>
      <div>
        <dt>{t("resolvedN")}</dt>
        <dd>{nf.format(r.resolved)}</dd>
      </div>
      <div>
        <dt>{t("firstResponseTime")}</dt>
        <dd data-testid="agent-month-fr">
          {t("medianP90", { median: d(r.first_response.median_s), p90: d(r.first_response.p90_s) })}
        </dd>
      </div>
      <div>
        <dt>{t("resolutionTime")}</dt>
        <dd>{t("medianP90", { median: d(r.resolution.median_s), p90: d(r.resolution.p90_s) })}</dd>
      </div>
    </dl>
  );
}
