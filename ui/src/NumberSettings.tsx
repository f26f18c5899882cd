// One business number's settings, opened from the numbers tab: how its conversations are routed
// (permission `manage_routing`), its opening hours, send rate and message templates (permission
// `manage_automations`). Each part saves on its own, validates as the relay does, and shows the
// relay's refusal beside the field it is about.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import type { FieldError } from "./adminForms";
import { FieldNote } from "./FieldNote";
import { formatTime, type Key } from "./i18n";
import { can } from "./logic";
import {
  DAYS,
  hoursForm,
  hoursRefusalField,
  parseList,
  stickyError,
  validateHours,
  validateRate,
  type Day,
  type HoursForm,
  type RateField,
  type RateForm,
} from "./routingForms";
import { ErrorNote } from "./Team";
import type { BusinessHours, NumberPolicy, NumberRate, PhoneNumber, SyncResult, TeamInfo, Template, UiError, User } from "./types";

export function NumberSettings(props: { me: User; number: PhoneNumber }) {
  const pnid = props.number.phone_number_id;
  return (
    <div className="number-settings" data-testid="number-settings" data-id={pnid}>
      {can(props.me, "manage_routing") && <Routing pnid={pnid} />}
      {can(props.me, "manage_automations") && (
        <>
          <Hours pnid={pnid} />
          <Rate pnid={pnid} />
          <Templates pnid={pnid} />
        </>
      )}
    </div>
  );
}

function Saved(props: { on: boolean }) {
  const { t } = useUi();
  return props.on ? <small className="hint" data-testid="saved">{t("saved")}</small> : null;
}

function Routing(props: { pnid: string }) {
  const { t } = useUi();
  const [p, setP] = useState<NumberPolicy | null>(null);
  const [teams, setTeams] = useState<TeamInfo[]>([]);
  const [sticky, setSticky] = useState("0");
  const [skills, setSkills] = useState("");
  const [tags, setTags] = useState("");
  const [errors, setErrors] = useState<{ sticky?: FieldError | null; skills?: FieldError | null }>({});
  const [error, setError] = useState<UiError | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    Promise.all([api.numberPolicy(props.pnid), api.teams()]).then(([x, tm]) => {
      setP(x);
      setTeams(tm);
      setSticky(String(x.sticky_days));
      setSkills(x.skills.number.join(", "));
      setTags(x.priority_tags.join(", "));
    }, (e) => setError(asUiError(e)));
  }, [props.pnid]);
  if (!p) return error ? <ErrorNote error={error} testid="number-routing-error" /> : <div className="skeleton" />;
  const save = async () => {
    const se = stickyError(sticky);
    setErrors({ sticky: se });
    setSaved(false);
    setError(null);
    if (se) return;
    const body: NumberPolicy = { ...p, sticky_days: Number(sticky.trim()), skills: { ...p.skills, number: parseList(skills) }, priority_tags: parseList(tags) };
    try {
      setP(await api.putNumberPolicy(props.pnid, body));
      setSaved(true);
    } catch (e) {
      const err = asUiError(e);
      if (/skill/i.test(err.message)) setErrors({ skills: { text: err.message } });
      else if (/sticky/i.test(err.message)) setErrors({ sticky: { text: err.message } });
      else setError(err);
    }
  };
  return (
    <form className="admin-form card" data-testid="number-routing" onSubmit={(e) => (e.preventDefault(), save())}>
      <h3>{t("routingTitle")}</h3>
      <label>
        {t("routingMode")}
        <select data-testid="routing-mode" value={p.mode} onChange={(e) => setP({ ...p, mode: e.target.value as NumberPolicy["mode"] })}>
          <option value="least_loaded">{t("mode_least_loaded")}</option>
          <option value="round_robin">{t("mode_round_robin")}</option>
        </select>
      </label>
      <label>
        {t("routeToTeam")}
        <select data-testid="routing-team" value={p.team_id ?? ""} onChange={(e) => setP({ ...p, team_id: e.target.value ? Number(e.target.value) : null })}>
          <option value="">{t("anyAgent")}</option>
          {teams.map((x) => (
            <option key={x.id} value={x.id}>
              {x.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("stickyDays")}
        <input data-testid="routing-sticky" inputMode="numeric" value={sticky} aria-invalid={!!errors.sticky} onChange={(e) => setSticky(e.target.value)} />
        <FieldNote error={errors.sticky} testid="routing-sticky-error" />
      </label>
      <label>
        {t("requiredSkills")}
        <input data-testid="routing-skills" value={skills} aria-invalid={!!errors.skills} onChange={(e) => setSkills(e.target.value)} />
        <FieldNote error={errors.skills} testid="routing-skills-error" />
      </label>
      <label>
        {t("priorityTags")}
        <input data-testid="routing-tags" value={tags} onChange={(e) => setTags(e.target.value)} />
      </label>
      <button type="submit" className="primary" data-testid="number-routing-save">
        {t("save")}
      </button>
      <Saved on={saved} />
      {error && <ErrorNote error={error} testid="number-routing-error" />}
    </form>
  );
}

function Hours(props: { pnid: string }) {
  const { t } = useUi();
  const [stored, setStored] = useState<BusinessHours | null | undefined>(undefined);
  const [form, setForm] = useState<HoursForm | null>(null);
  const [errors, setErrors] = useState<Partial<Record<Day | "timeZone", FieldError>>>({});
  const [error, setError] = useState<UiError | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    api.businessHours(props.pnid).then((h) => {
      setStored(h);
      setForm(hoursForm(h));
    }, (e) => setError(asUiError(e)));
  }, [props.pnid]);
  if (!form) return error ? <ErrorNote error={error} testid="hours-error" /> : <div className="skeleton" />;
  const save = async () => {
    const v = validateHours(form, stored ?? null);
    setErrors(v.errors);
    setSaved(false);
    setError(null);
    if (!v.value) return;
    try {
      const h = await api.putBusinessHours(props.pnid, v.value);
      setStored(h);
      setSaved(true);
    } catch (e) {
      const err = asUiError(e);
      const f = hoursRefusalField(err);
      if (f) setErrors({ [f]: { text: err.message } });
      else setError(err);
    }
  };
  const remove = async () => {
    try {
      await api.deleteBusinessHours(props.pnid);
      setStored(null);
      setForm(hoursForm(null));
    } catch (e) {
      setError(asUiError(e));
    }
  };
  return (
    <form className="admin-form card" data-testid="business-hours" data-stored={stored ? "yes" : "no"} onSubmit={(e) => (e.preventDefault(), save())}>
      <h3>{t("businessHours")}</h3>
      <p className="hint wide">{stored ? t("hoursHint") : t("alwaysOpen")}</p>
      <label>
        {t("timeZone")}
        <input data-testid="hours-tz" value={form.timeZone} aria-invalid={!!errors.timeZone} onChange={(e) => setForm({ ...form, timeZone: e.target.value })} />
        <FieldNote error={errors.timeZone} testid="hours-tz-error" />
      </label>
      {DAYS.map((d) => (
        <label key={d}>
          {t(`day_${d}` as Key)}
          <input data-testid={`hours-${d}`} placeholder={t("closed")} value={form[d]} aria-invalid={!!errors[d]} onChange={(e) => setForm({ ...form, [d]: e.target.value })} />
          <FieldNote error={errors[d]} testid={`hours-${d}-error`} />
        </label>
      ))}
      <label className="row">
        <input type="checkbox" data-testid="hours-enabled" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.target.checked })} />
        {t("awayMessageOn")}
      </label>
      <button type="submit" className="primary" data-testid="hours-save">
        {t("save")}
      </button>
      {stored && (
        <button type="button" data-testid="hours-delete" onClick={remove}>
          {t("removeHours")}
        </button>
      )}
      <Saved on={saved} />
      {error && <ErrorNote error={error} testid="hours-error" />}
    </form>
  );
}

function Rate(props: { pnid: string }) {
  const { t, lang } = useUi();
  const [rate, setRate] = useState<NumberRate | null>(null);
  const [form, setForm] = useState<RateForm>({ perMinute: "", burst: "" });
  const [errors, setErrors] = useState<Partial<Record<RateField, FieldError>>>({});
  const [error, setError] = useState<UiError | null>(null);
  const [saved, setSaved] = useState(false);
  const load = () =>
    api.rateLimit(props.pnid).then((r) => {
      setRate(r);
      setForm({ perMinute: String(r.settings.per_minute), burst: String(r.settings.burst) });
    }, (e) => setError(asUiError(e)));
  useEffect(() => {
    load();
  }, [props.pnid]); // eslint-disable-line
  if (!rate) return error ? <ErrorNote error={error} testid="rate-error" /> : <div className="skeleton" />;
  const save = async () => {
    const v = validateRate(form, rate.settings);
    setErrors(v.errors);
    setSaved(false);
    setError(null);
    if (!v.value) return;
    try {
      await api.putRateLimit(props.pnid, v.value);
      await load();
      setSaved(true);
    } catch (e) {
      const err = asUiError(e);
      if (/per_minute/.test(err.message)) setErrors({ perMinute: { text: err.message } });
      else if (/burst/.test(err.message)) setErrors({ burst: { text: err.message } });
      else setError(err);
    }
  };
  const nf = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  return (
    <form className="admin-form card" data-testid="rate-limit" onSubmit={(e) => (e.preventDefault(), save())}>
      <h3>{t("sendRate")}</h3>
      <label>
        {t("perMinute")}
        <input data-testid="rate-per-minute" inputMode="numeric" value={form.perMinute} aria-invalid={!!errors.perMinute} onChange={(e) => setForm({ ...form, perMinute: e.target.value })} />
        <FieldNote error={errors.perMinute} testid="rate-per-minute-error" />
      </label>
      <label>
        {t("burst")}
        <input data-testid="rate-burst" inputMode="numeric" value={form.burst} aria-invalid={!!errors.burst} onChange={(e) => setForm({ ...form, burst: e.target.value })} />
        <FieldNote error={errors.burst} testid="rate-burst-error" />
      </label>
      <p className="hint wide" data-testid="rate-effective">
        {t("rateNow", { n: nf.format(rate.effective_per_minute) })}
        {rate.paused_until && ` · ${t("pausedUntil", { time: formatTime(lang, rate.paused_until) })}`}
      </p>
      <button type="submit" className="primary" data-testid="rate-save">
        {t("save")}
      </button>
      <Saved on={saved} />
      {error && <ErrorNote error={error} testid="rate-error" />}
    </form>
  );
}

function Templates(props: { pnid: string }) {
  const { t } = useUi();
  const [list, setList] = useState<Template[] | null>(null);
  const [result, setResult] = useState<SyncResult[] | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const load = () => api.templates(props.pnid).then(setList, (e) => setError(asUiError(e)));
  useEffect(() => {
    load();
  }, [props.pnid]); // eslint-disable-line
  const sync = async () => {
    setBusy(true);
    setError(null);
    try {
      setResult(await api.syncTemplates());
      await load();
    } catch (e) {
      setError(asUiError(e));
    } finally {
      setBusy(false);
    }
  };
  const approved = (list ?? []).filter((x) => x.status.toUpperCase() === "APPROVED").length;
  return (
    <div className="admin-form card" data-testid="templates-sync">
      <h3>{t("templatesTitle")}</h3>
      <p className="hint wide" data-testid="templates-count" data-count={list?.length ?? 0}>
        {list ? t("templatesStored", { n: list.length, approved }) : "…"}
      </p>
      {result?.map((r) => (
        <p key={r.waba_id} className={"wide " + (r.error ? "error" : "hint")} data-testid="templates-result" data-ok={!r.error}>
          {r.error ? t("syncFailed", { account: r.waba_id, reason: r.error }) : t("syncDone", { account: r.waba_id, n: r.templates ?? 0 })}
        </p>
      ))}
      <button type="button" className="primary" data-testid="templates-sync-now" disabled={busy} onClick={sync}>
        {busy ? t("syncing") : t("syncNow")}
      </button>
      {error && <ErrorNote error={error} testid="templates-error" />}
    </div>
  );
}
