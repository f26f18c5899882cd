// Credentials per WhatsApp Business Account (in the numbers tab, `manage_numbers`): which
// account each number belongs to, whether it sends with a token of its own, which Meta app (and
// so which app secret) verifies its webhooks. A token or secret typed here goes to the relay,
// which stores it sealed; it is never shown again. Forms check as the relay does
// (accountForms.ts) and show the relay's refusal beside the field.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { accountRefusalField, accountUpdate, validateAccount, validateApp, type AccountField, type AccountForm, type AppField } from "./accountForms";
import type { FieldError } from "./adminForms";
import { FieldNote } from "./FieldNote";
import { ErrorNote } from "./Team";
import { numberLabel } from "./logic";
import type { BusinessAccount, MetaApp, PhoneNumber, UiError } from "./types";

const fresh = (a?: BusinessAccount): AccountForm => ({
  waba: a?.waba_id ?? "",
  name: a?.name ?? "",
  app: a?.app_id ?? "",
  token: "",
  dropToken: false,
});

export function BusinessAccounts(props: { numbers: PhoneNumber[] }) {
  const { t } = useUi();
  const [accounts, setAccounts] = useState<BusinessAccount[] | null>(null);
  const [apps, setApps] = useState<MetaApp[]>([]);
  const [editing, setEditing] = useState<AccountForm | null>(null);
  const [isNew, setIsNew] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<AccountField, FieldError>>>({});
  const [formError, setFormError] = useState<UiError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<UiError | null>(null);
  const [app, setApp] = useState({ id: "", secret: "" });
  const [appErrors, setAppErrors] = useState<Partial<Record<AppField, FieldError>>>({});
  const [appError, setAppError] = useState<UiError | null>(null);
  const [appSaved, setAppSaved] = useState(false);
  const load = () =>
    Promise.all([api.adminBusinessAccounts(), api.adminMetaApps()]).then(
      ([a, m]) => {
        setAccounts(a);
        setApps(m);
        setLoadError(null);
      },
      (e) => setLoadError(asUiError(e)),
    );
  useEffect(() => {
    load();
  }, []); // eslint-disable-line

  const save = async () => {
    if (!editing) return;
    const local = validateAccount(editing);
    setErrors(local);
    setFormError(null);
    if (Object.keys(local).length) return;
    try {
      await api.adminUpdateBusinessAccount(editing.waba.trim(), accountUpdate(editing));
      setSaved(editing.waba.trim());
      setEditing(null);
      await load();
    } catch (e) {
      const err = asUiError(e);
      const field = accountRefusalField(err);
      if (field) setErrors({ [field]: { text: err.message } });
      else setFormError(err);
    }
  };
  const saveApp = async () => {
    const local = validateApp(app.id, app.secret);
    setAppErrors(local);
    setAppError(null);
    setAppSaved(false);
    if (Object.keys(local).length) return;
    try {
      await api.adminSetMetaAppSecret(app.id.trim(), app.secret.trim());
      setApp({ id: "", secret: "" });
      setAppSaved(true);
      await load();
    } catch (e) {
      setAppError(asUiError(e));
    }
  };
  const set = (k: "waba" | "name" | "app" | "token") => (e: { target: { value: string } }) =>
    setEditing((f) => (f ? { ...f, [k]: e.target.value } : f));

  return (
    <section className="accounts" data-testid="business-accounts">
      <h3>{t("businessAccounts")}</h3>
      <p className="hint">{t("businessAccountsHint")}</p>
      {loadError && <ErrorNote error={loadError} testid="accounts-error" />}
      {accounts && (
        <table className="monitor-table">
          <thead>
            <tr>
              <th>{t("accountId")}</th>
              <th>{t("name")}</th>
              <th>{t("accountNumbers")}</th>
              <th>{t("accessToken")}</th>
              <th>{t("metaApp")}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {accounts.map((a) => (
              <tr key={a.waba_id} data-testid="account-row" data-waba={a.waba_id} data-own-token={a.has_token} data-app={a.app_id ?? ""}>
                <td>
                  <code>{a.waba_id}</code>
                </td>
                <td>{a.name ?? "—"}</td>
                <td title={a.numbers.join(", ")}>{a.numbers.length ? a.numbers.map((n) => numberLabel(n, props.numbers)).join(", ") : "—"}</td>
                <td data-testid="account-token">{a.has_token ? t("ownToken") : t("relayToken")}</td>
                <td>{a.app_id ?? t("relaySecret")}</td>
                <td className="row-actions">
                  {saved === a.waba_id && <span className="ok" data-testid="account-saved">{t("saved")}</span>}
                  <button data-testid="account-edit" onClick={() => { setEditing(fresh(a)); setIsNew(false); setErrors({}); setFormError(null); }}>
                    {t("edit")}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!editing && (
        <button data-testid="account-new" onClick={() => { setEditing(fresh()); setIsNew(true); setErrors({}); setFormError(null); }}>
          {t("newBusinessAccount")}
        </button>
      )}
      {editing && (
        <form
          className="admin-form card"
          data-testid="account-form"
          onSubmit={(e) => {
            e.preventDefault();
            save();
          }}
        >
          <label>
            {t("accountId")}
            <input data-testid="account-waba" value={editing.waba} onChange={set("waba")} readOnly={!isNew} aria-invalid={!!errors.waba} />
            <FieldNote error={errors.waba} testid="account-waba-error" />
          </label>
          <label>
            {t("name")}
            <input data-testid="account-name" value={editing.name} onChange={set("name")} aria-invalid={!!errors.name} />
            <FieldNote error={errors.name} testid="account-name-error" />
          </label>
          <label>
            {t("metaApp")}
            <select data-testid="account-app" value={editing.app} onChange={set("app")} aria-invalid={!!errors.app}>
              <option value="">{t("relaySecret")}</option>
              {apps.map((m) => (
                <option key={m.app_id} value={m.app_id}>
                  {m.app_id}
                </option>
              ))}
            </select>
            <FieldNote error={errors.app} testid="account-app-error" />
          </label>
          <label>
            {t("accessToken")}
            <input
              data-testid="account-token-input"
              type="password"
              autoComplete="off"
              value={editing.token}
              placeholder={t("tokenKeep")}
              disabled={editing.dropToken}
              onChange={set("token")}
              aria-invalid={!!errors.token}
            />
            <FieldNote error={errors.token} testid="account-token-error" />
          </label>
          <label className="inline">
            <input type="checkbox" data-testid="account-drop-token" checked={editing.dropToken} onChange={(e) => setEditing({ ...editing, dropToken: e.target.checked })} />
            {t("useRelayToken")}
          </label>
          <div className="row-actions">
            <button type="submit" className="primary" data-testid="account-save">
              {t("save")}
            </button>
            <button type="button" onClick={() => setEditing(null)}>
              {t("cancel")}
            </button>
          </div>
          {formError && <ErrorNote error={formError} testid="account-error" />}
        </form>
      )}
      <form
        className="admin-form card"
        data-testid="meta-app-form"
        onSubmit={(e) => {
          e.preventDefault();
          saveApp();
        }}
      >
        <h4>{t("metaAppSecret")}</h4>
        <label>
          {t("metaAppId")}
          <input data-testid="meta-app-id" value={app.id} onChange={(e) => setApp({ ...app, id: e.target.value })} aria-invalid={!!appErrors.app} />
          <FieldNote error={appErrors.app} testid="meta-app-id-error" />
        </label>
        <label>
          {t("appSecret")}
          <input data-testid="meta-app-secret" type="password" autoComplete="off" value={app.secret} onChange={(e) => setApp({ ...app, secret: e.target.value })} aria-invalid={!!appErrors.secret} />
          <FieldNote error={appErrors.secret} testid="meta-app-secret-error" />
        </label>
        <button type="submit" data-testid="meta-app-save">
          {t("save")}
        </button>
        {appSaved && <span className="ok" data-testid="meta-app-saved">{t("saved")}</span>}
        {appError && <ErrorNote error={appError} testid="meta-app-error" />}
      </form>
    </section>
  );
}
