// The admin console's routing tab (permission `manage_routing`): the waiting thresholds, the
// skills agents may carry, teams and their members, and each agent's capacity, skills and teams.
// Each form validates as the relay does (routingForms.ts) and shows the relay's refusal beside it.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import type { FieldError } from "./adminForms";
import { FieldNote } from "./FieldNote";
import { capacityError, parseList, validateSettings, type SettingsField, type SettingsForm } from "./routingForms";
import { ErrorNote } from "./Team";
import type { AgentRouting, DirectoryAgent, TeamInfo, UiError } from "./types";

export function RoutingTab() {
  const { t } = useUi();
  const [skills, setSkills] = useState<string[] | null>(null);
  const [teams, setTeams] = useState<TeamInfo[] | null>(null);
  const [agents, setAgents] = useState<DirectoryAgent[]>([]);
  const [error, setError] = useState<UiError | null>(null);
  const load = () =>
    Promise.all([api.skills(), api.teams(), api.directory()]).then(
      ([s, tm, d]) => {
        setSkills(s.skills);
        setTeams(tm);
        setAgents([...d.agents].sort((a, b) => a.name.localeCompare(b.name)));
      },
      (e) => setError(asUiError(e)),
    );
  useEffect(() => {
    load();
  }, []); // eslint-disable-line
  if (error) return <ErrorNote error={error} testid="routing-error" />;
  if (!skills || !teams) return <div className="skeleton tall" />;
  return (
    <>
      <Thresholds />
      <SkillList skills={skills} onSaved={load} />
      <Teams teams={teams} agents={agents} onSaved={load} />
      <h3>{t("agentsRouting")}</h3>
      <table className="monitor-table" data-testid="agent-routing">
        <thead>
          <tr>
            <th scope="col">{t("agent")}</th>
            <th scope="col">{t("capacity")}</th>
            <th scope="col">{t("skillsTitle")}</th>
            <th scope="col">{t("teamsTitle")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {agents.map((a) => (
            <AgentRow key={a.id} agent={a} skills={skills} teams={teams} />
          ))}
        </tbody>
      </table>
    </>
  );
}

function Thresholds() {
  const { t } = useUi();
  const [form, setForm] = useState<SettingsForm | null>(null);
  const [errors, setErrors] = useState<Partial<Record<SettingsField, FieldError>>>({});
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<UiError | null>(null);
  useEffect(() => {
    api.routingSettings().then(
      (s) => setForm({ grace: String(s.grace_period_s), alert: String(s.alert_after_s), overdue: String(s.overdue_after_s) }),
      (e) => setError(asUiError(e)),
    );
  }, []);
  const save = async () => {
    if (!form) return;
    const v = validateSettings(form);
    setErrors(v.errors);
    setSaved(false);
    setError(null);
    if (!v.value) return;
    try {
      await api.putRoutingSettings(v.value);
      setSaved(true);
    } catch (e) {
      setError(asUiError(e));
    }
  };
  if (!form) return error ? <ErrorNote error={error} testid="thresholds-error" /> : <div className="skeleton" />;
  const field = (k: SettingsField, label: "graceSeconds" | "alertSeconds" | "overdueSeconds") => (
    <label>
      {t(label)}
      <input data-testid={`routing-${k}`} inputMode="numeric" value={form[k]} aria-invalid={!!errors[k]} onChange={(e) => (setForm({ ...form, [k]: e.target.value }), setSaved(false))} />
      <FieldNote error={errors[k]} testid={`routing-${k}-error`} />
    </label>
  );
  return (
    <form className="admin-form card" data-testid="routing-settings" onSubmit={(e) => (e.preventDefault(), save())}>
      <h3>{t("waitingThresholds")}</h3>
      {field("alert", "alertSeconds")}
      {field("overdue", "overdueSeconds")}
      {field("grace", "graceSeconds")}
      <button type="submit" className="primary" data-testid="routing-save">
        {t("save")}
      </button>
      {saved && <small className="hint" data-testid="routing-saved">{t("saved")}</small>}
      {error && <ErrorNote error={error} testid="thresholds-error" />}
    </form>
  );
}

function SkillList(props: { skills: string[]; onSaved: () => void }) {
  const { t } = useUi();
  const [text, setText] = useState(props.skills.join(", "));
  const [error, setError] = useState<FieldError | null>(null);
  const save = async () => {
    setError(null);
    try {
      await api.putSkills(parseList(text));
      props.onSaved();
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  return (
    <form className="admin-form card" data-testid="skills" onSubmit={(e) => (e.preventDefault(), save())}>
      <h3>{t("skillsTitle")}</h3>
      <label className="wide">
        {t("skillsHint")}
        <input data-testid="skills-input" value={text} aria-invalid={!!error} onChange={(e) => setText(e.target.value)} />
        <FieldNote error={error} testid="skills-error" />
      </label>
      <button type="submit" className="primary" data-testid="skills-save">
        {t("save")}
      </button>
    </form>
  );
}

function Teams(props: { teams: TeamInfo[]; agents: DirectoryAgent[]; onSaved: () => void }) {
  const { t } = useUi();
  return (
    <div className="teams" data-testid="teams">
      <h3>{t("teamsTitle")}</h3>
      {props.teams.map((x) => (
        <TeamCard key={x.id} team={x} agents={props.agents} onSaved={props.onSaved} />
      ))}
      <TeamCard agents={props.agents} onSaved={props.onSaved} />
    </div>
  );
}

/** One team to edit, or (without `team`) the form for a new one. */
function TeamCard(props: { team?: TeamInfo; agents: DirectoryAgent[]; onSaved: () => void }) {
  const { t } = useUi();
  const [name, setName] = useState(props.team?.name ?? "");
  const [members, setMembers] = useState<number[]>(props.team?.members ?? []);
  const [requeue, setRequeue] = useState(props.team?.requeue_on_offline ?? true);
  const [error, setError] = useState<FieldError | null>(null);
  const save = async () => {
    if (!name.trim()) return setError({ key: "required" });
    setError(null);
    const body = { name: name.trim(), members, requeue_on_offline: requeue };
    try {
      if (props.team) await api.putTeam(props.team.id, body);
      else {
        await api.createTeam(body);
        setName("");
        setMembers([]);
      }
      props.onSaved();
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  const remove = async () => {
    if (!props.team) return;
    try {
      await api.deleteTeam(props.team.id);
      props.onSaved();
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  return (
    <form className="admin-form card" data-testid={props.team ? "team" : "new-team"} data-team-id={props.team?.id} onSubmit={(e) => (e.preventDefault(), save())}>
      <label>
        {props.team ? t("teamName") : t("newTeam")}
        <input data-testid="team-name" value={name} aria-invalid={!!error} onChange={(e) => setName(e.target.value)} />
        <FieldNote error={error} testid="team-error" />
      </label>
      <fieldset>
        <legend>{t("members")}</legend>
        {props.agents.map((a) => (
          <label key={a.id} className="row">
            <input
              type="checkbox"
              data-testid="team-member"
              data-agent-id={a.id}
              checked={members.includes(a.id)}
              onChange={(e) => setMembers((m) => (e.target.checked ? [...m, a.id] : m.filter((x) => x !== a.id)))}
            />
            {a.name}
          </label>
        ))}
      </fieldset>
      <label className="row">
        <input type="checkbox" checked={requeue} onChange={(e) => setRequeue(e.target.checked)} />
        {t("requeueOnOffline")}
      </label>
      <button type="submit" className="primary" data-testid="team-save">
        {props.team ? t("save") : t("createTeam")}
      </button>
      {props.team && (
        <button type="button" className="danger" data-testid="team-delete" onClick={remove}>
          {t("delete")}
        </button>
      )}
    </form>
  );
}

function AgentRow(props: { agent: DirectoryAgent; skills: string[]; teams: TeamInfo[] }) {
  const { t } = useUi();
  const [saved, setSaved] = useState<AgentRouting | null>(null);
  const [capacity, setCapacity] = useState("");
  const [skills, setSkills] = useState<string[]>([]);
  const [teams, setTeams] = useState<number[]>([]);
  const [error, setError] = useState<FieldError | null>(null);
  const [done, setDone] = useState(false);
  const show = (r: AgentRouting) => {
    setSaved(r);
    setCapacity(String(r.capacity));
    setSkills(r.skills);
    setTeams(r.teams);
  };
  useEffect(() => {
    api.agentRouting(props.agent.id).then(show, (e) => setError({ text: asUiError(e).message }));
  }, [props.agent.id]); // eslint-disable-line
  const save = async () => {
    const ce = capacityError(capacity);
    setError(ce);
    setDone(false);
    if (ce) return;
    try {
      show(await api.putAgentRouting(props.agent.id, { capacity: Number(capacity.trim()), skills, teams }));
      setDone(true);
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  const toggle = <T,>(list: T[], x: T, on: boolean) => (on ? [...list, x] : list.filter((y) => y !== x));
  return (
    <tr data-testid="agent-routing-row" data-agent-id={props.agent.id}>
      <th scope="row">{props.agent.name}</th>
      <td>
        <input className="narrow" data-testid="agent-capacity" inputMode="numeric" aria-label={t("capacity")} value={capacity} disabled={!saved} onChange={(e) => (setCapacity(e.target.value), setDone(false))} />
        <FieldNote error={error} testid="agent-routing-error" />
      </td>
      <td>
        {props.skills.map((s) => (
          <label key={s} className="chip">
            <input type="checkbox" data-testid="agent-skill" data-skill={s} checked={skills.includes(s)} onChange={(e) => setSkills(toggle(skills, s, e.target.checked))} /> {s}
          </label>
        ))}
      </td>
      <td>
        {props.teams.map((x) => (
          <label key={x.id} className="chip">
            <input type="checkbox" checked={teams.includes(x.id)} onChange={(e) => setTeams(toggle(teams, x.id, e.target.checked))} /> {x.name}
          </label>
        ))}
      </td>
      <td className="row-actions">
        <button data-testid="agent-routing-save" disabled={!saved} onClick={save}>
          {t("save")}
        </button>
        {done && <small className="hint">{t("saved")}</small>}
      </td>
    </tr>
  );
}
