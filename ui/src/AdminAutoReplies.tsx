// Keyword auto-replies in the admin console (permission `manage_automations`): the rules of every
// number; a form to create one or edit one (what the form does not show is kept); pause and
// resume; delete; and "try a message", which asks the relay which rule in force would answer.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { pausedBody, ruleBody, ruleForm, ruleRefusalField, validateRule, type FieldError, type MatchMode, type RuleField, type RuleForm } from "./adminForms";
import { FieldNote } from "./FieldNote";
import type { Key } from "./i18n";
import { ErrorNote } from "./Team";
import type { AutoReply, AutoReplyVerdict, PhoneNumber, UiError } from "./types";

const MATCH_MODES: MatchMode[] = ["any", "all", "exact", "regex"];
const emptyRule: RuleForm = { name: "", number: "", keywords: "", match: "any", reply: "", handoff: true };

export function AutoReplies() {
  const { t } = useUi();
  const [rules, setRules] = useState<AutoReply[] | null>(null);
  const [numbers, setNumbers] = useState<PhoneNumber[]>([]);
  const [form, setForm] = useState<RuleForm>(emptyRule);
  const [editing, setEditing] = useState<AutoReply | null>(null);
  const [errors, setErrors] = useState<Partial<Record<RuleField, FieldError>>>({});
  const [formError, setFormError] = useState<UiError | null>(null);
  const load = () => api.adminAutoReplies().then(setRules, (e) => setFormError(asUiError(e)));
  useEffect(() => {
    load();
    api.numbers().then((ns) => {
      const inUse = ns.filter((n) => n.configured);
      setNumbers(inUse);
      setForm((f) => (f.number ? f : { ...f, number: inUse[0]?.phone_number_id ?? "" }));
    }, () => {});
  }, []); // eslint-disable-line
  const reset = () => {
    setEditing(null);
    setErrors({});
    setForm((f) => ({ ...emptyRule, number: f.number }));
  };
  const submit = async () => {
    const local = validateRule(form);
    setErrors(local);
    setFormError(null);
    if (Object.keys(local).length) return;
    try {
      if (editing) await api.adminUpdateAutoReply(editing.id, ruleBody(form, editing));
      else await api.adminCreateAutoReply(ruleBody(form));
      reset();
      await load();
    } catch (e) {
      const err = asUiError(e);
      const field = ruleRefusalField(err);
      if (field) setErrors({ [field]: { text: err.message } });
      else setFormError(err);
    }
  };
  const edit = (r: AutoReply) => {
    setEditing(r);
    setErrors({});
    setFormError(null);
    setForm(ruleForm(r));
  };
  const pause = (r: AutoReply, paused: boolean) => api.adminUpdateAutoReply(r.id, pausedBody(r, paused)).then(load, (e) => setFormError(asUiError(e)));
  const remove = (id: number) => api.adminDeleteAutoReply(id).then(() => (editing?.id === id && reset(), load()), (e) => setFormError(asUiError(e)));
  const set = (k: keyof RuleForm) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const numberName = (id: string) => numbers.find((n) => n.phone_number_id === id)?.name ?? id;
  return (
    <>
      <form className="admin-form card" data-testid="new-rule" data-editing={editing?.id ?? ""} onSubmit={(e) => (e.preventDefault(), submit())}>
        <h3>{editing ? t("editAutoReply", { name: editing.name }) : t("newAutoReply")}</h3>
        <label>
          {t("ruleName")}
          <input data-testid="rule-name" value={form.name} onChange={set("name")} aria-invalid={!!errors.name} />
          <FieldNote error={errors.name} testid="rule-name-error" />
        </label>
        <label>
          {t("ruleNumber")}
          <select data-testid="rule-number" value={form.number} onChange={set("number")}>
            {numbers.map((n) => (
              <option key={n.phone_number_id} value={n.phone_number_id}>
                {n.name}
              </option>
            ))}
          </select>
          <FieldNote error={errors.number} testid="rule-number-error" />
        </label>
        <label>
          {t("matchMode")}
          <select data-testid="rule-match" value={form.match} onChange={set("match")}>
            {MATCH_MODES.map((m) => (
              <option key={m} value={m}>
                {t(`match_${m}` as Key)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("keywordsLabel")}
          <input data-testid="rule-keywords" value={form.keywords} onChange={set("keywords")} aria-invalid={!!errors.keywords} />
          <FieldNote error={errors.keywords} testid="rule-keywords-error" />
        </label>
        <label className="wide">
          {t("replyText")}
          <textarea data-testid="rule-reply" value={form.reply} onChange={set("reply")} aria-invalid={!!errors.reply} />
          <FieldNote error={errors.reply} testid="rule-reply-error" />
        </label>
        <label className="row small">
          <input type="checkbox" data-testid="rule-handoff" checked={form.handoff} onChange={(e) => setForm((f) => ({ ...f, handoff: e.target.checked }))} />
          {t("handoff")}
        </label>
        <button type="submit" className="primary" data-testid="create-rule">
          {editing ? t("saveChanges") : t("createRule")}
        </button>
        {editing && (
          <button type="button" data-testid="rule-cancel" onClick={reset}>
            {t("cancel")}
          </button>
        )}
        {formError && <ErrorNote error={formError} testid="rule-error" />}
      </form>
      <TryRule numbers={numbers} />
      {rules && rules.length === 0 && <p className="hint">{t("noRules")}</p>}
      {rules && rules.length > 0 && (
        <table className="monitor-table" data-testid="rules">
          <thead>
            <tr>
              <th>{t("ruleName")}</th>
              <th>{t("ruleNumber")}</th>
              <th>{t("keywordsLabel")}</th>
              <th>{t("replyText")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.id} data-testid="rule-row" data-name={r.name} data-paused={!!r.paused} className={r.paused ? "paused" : ""}>
                <td>
                  {r.name}
                  {r.paused && <span className="tag" data-testid="rule-paused">{t("paused")}</span>}
                </td>
                <td>{numberName(r.phone_number_id)}</td>
                <td>
                  {t(`match_${r.match}` as Key)}: <code>{r.keywords.join(", ")}</code>
                </td>
                <td>{String(r.reply.text ?? "")}</td>
                <td className="row-actions">
                  <button data-testid="rule-edit" onClick={() => edit(r)}>
                    {t("edit")}
                  </button>
                  <button data-testid="rule-pause" onClick={() => pause(r, !r.paused)}>
                    {r.paused ? t("resume") : t("pause")}
                  </button>
                  <button className="danger" data-testid="rule-delete" onClick={() => remove(r.id)}>
                    {t("deleteRule")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** "Try a message": which rule in force answers it, and with what. */
function TryRule(props: { numbers: PhoneNumber[] }) {
  const { t } = useUi();
  const [number, setNumber] = useState("");
  const [text, setText] = useState("");
  const [verdict, setVerdict] = useState<AutoReplyVerdict | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const pnid = number || props.numbers[0]?.phone_number_id || "";
  const run = async () => {
    setError(null);
    if (!text.trim() || !pnid) return setVerdict(null);
    try {
      setVerdict(await api.adminTestAutoReply(pnid, text));
    } catch (e) {
      setError(asUiError(e));
    }
  };
  return (
    <form className="admin-form card" data-testid="rule-try" onSubmit={(e) => (e.preventDefault(), run())}>
      <h3>{t("tryAutoReply")}</h3>
      <label>
        {t("ruleNumber")}
        <select data-testid="rule-try-number" value={pnid} onChange={(e) => setNumber(e.target.value)}>
          {props.numbers.map((n) => (
            <option key={n.phone_number_id} value={n.phone_number_id}>
              {n.name}
            </option>
          ))}
        </select>
      </label>
      <label className="wide">
        {t("customerMessage")}
        <input data-testid="rule-try-text" value={text} onChange={(e) => setText(e.target.value)} />
      </label>
      <button type="submit" data-testid="rule-try-run">
        {t("tryIt")}
      </button>
      {verdict && (
        <p className="wide" data-testid="rule-verdict" data-rule={verdict.matched[0]?.name ?? ""}>
          {verdict.matched.length === 0
            ? t("noRuleAnswers")
            : t("ruleAnswers", { name: verdict.matched[0].name, reply: String(verdict.reply?.text ?? "") })}
          {verdict.matched.length > 1 && <small className="hint"> {t("alsoMatches", { names: verdict.matched.slice(1).map((m) => m.name).join(", ") })}</small>}
        </p>
      )}
      {error && <ErrorNote error={error} testid="rule-try-error" />}
    </form>
  );
}
