// The admin console: users (create, role, deactivate, reset password), roles (named sets of
// permissions) and the audit log (filter, export as CSV). Users and roles are shown to those whose
// role grants `manage_users`, the audit log to `view_audit`; the relay checks the same
// permissions on every call. Forms validate as the relay does (adminForms.ts) and show the
// relay's refusal next to the field; nothing is saved half.
import { Fragment, useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import {
  auditQuery,
  permissionsDirty,
  roleNameError,
  roleRefusalField,
  togglePermission,
  userRefusalField,
  validateUser,
  numberRefusalField,
  validateNumber,
  type AuditForm,
  type NumberField,
  type NumberForm,
  type FieldError,
  type RoleField,
  type UserField,
  type UserForm,
} from "./adminForms";
import type { Key } from "./i18n";
import { formatTime } from "./i18n";
import { can, savedPlace } from "./logic";
import { ErrorNote } from "./Team";
import { FieldNote } from "./FieldNote";
import { RoutingTab } from "./AdminRouting";
import { NumberSettings } from "./NumberSettings";
import { BusinessAccounts } from "./BusinessAccounts";
import { WhatsAppSide } from "./WhatsAppSide";
import { DataTab } from "./DataGovernance";
import { ExportEverything } from "./ExportData";
import { AutoReplies } from "./AdminAutoReplies";
import { Words } from "./AdminWords";
import type { Account, AuditEntry, Permission, PermissionInfo, PhoneNumber, RoleInfo, UiError, User } from "./types";

/** The relay's default minimum password length (it names a higher one in its refusal). */
const MIN_PASSWORD = 8;

type Tab = "users" | "roles" | "numbers" | "routing" | "replies" | "words" | "data" | "audit";

/** Whether the person sees the admin console at all. */
export function showsAdmin(me: User): boolean {
  return can(me, "manage_users") || can(me, "manage_numbers") || can(me, "manage_routing") || can(me, "manage_automations") || can(me, "view_audit") || can(me, "manage_data");
}

export function AdminView(props: { me: User; onClose: () => void; onNumbers: () => void }) {
  const { t } = useUi();
  const manages = can(props.me, "manage_users");
  const tabs: Tab[] = [
    ...(manages ? (["users", "roles"] as Tab[]) : []),
    ...(can(props.me, "manage_numbers") ? (["numbers"] as Tab[]) : []),
    ...(can(props.me, "manage_routing") ? (["routing"] as Tab[]) : []),
    ...(can(props.me, "manage_automations") ? (["replies", "words"] as Tab[]) : []),
    ...(can(props.me, "manage_data") ? (["data"] as Tab[]) : []),
    ...(can(props.me, "view_audit") ? (["audit"] as Tab[]) : []),
  ];
  const [tab, setTab] = useState<Tab>(tabs[0] ?? "audit");
  const [users, setUsers] = useState<Account[] | null>(null);
  const [roles, setRoles] = useState<RoleInfo[] | null>(null);
  const [perms, setPerms] = useState<PermissionInfo[]>([]);
  const [error, setError] = useState<UiError | null>(null);
  const reload = () =>
    (manages ? Promise.all([api.adminUsers(), api.adminRoles(), api.adminPermissions()]) : Promise.resolve([[], [], []] as [Account[], RoleInfo[], PermissionInfo[]])).then(
      ([u, r, p]) => {
        setUsers(u);
        setRoles(r);
        setPerms(p);
        setError(null);
      },
      (e) => setError(asUiError(e)),
    );
  useEffect(() => {
    reload();
  }, []); // eslint-disable-line

  return (
    <section className="conversation monitor admin" data-testid="admin" aria-label={t("admin")}>
      <header className="conv-head">
        <h2>{t("admin")}</h2>
        <div className="views" role="tablist">
          {tabs.map((x) => (
            <button key={x} role="tab" data-testid={`admin-tab-${x}`} aria-selected={tab === x} className={tab === x ? "active" : ""} onClick={() => setTab(x)}>
              {t(x === "audit" ? "auditLog" : x === "numbers" ? "numbersTab" : x === "routing" ? "routingTab" : x === "replies" ? "autoRepliesTab" : x === "words" ? "wordsTab" : x === "data" ? "dataTab" : x)}
            </button>
          ))}
        </div>
        <button data-testid="close-admin" onClick={props.onClose}>
          {t("closeAdmin")}
        </button>
      </header>
      <div className="monitor-body">
        {error && <ErrorNote error={error} testid="admin-error" />}
        {!error && (!users || !roles) && <div className="skeleton tall" />}
        {users && roles && tab === "users" && <Users me={props.me} users={users} roles={roles} reload={reload} />}
        {users && roles && tab === "roles" && <Roles roles={roles} perms={perms} reload={reload} />}
        {tab === "numbers" && <Numbers me={props.me} onChanged={props.onNumbers} />}
        {tab === "routing" && <RoutingTab />}
        {tab === "replies" && <AutoReplies />}
        {tab === "words" && <Words />}
        {tab === "data" && <DataTab />}
        {tab === "audit" && can(props.me, "export") && <ExportEverything />}
        {tab === "audit" && <AuditLog users={users ?? []} />}
      </div>
    </section>
  );
}

const emptyUser: UserForm = { email: "", name: "", role: "agent", password: "" };

function Users(props: { me: User; users: Account[]; roles: RoleInfo[]; reload: () => Promise<void> }) {
  const { t } = useUi();
  const [form, setForm] = useState<UserForm>(emptyUser);
  const [errors, setErrors] = useState<Partial<Record<UserField, FieldError>>>({});
  const [formError, setFormError] = useState<UiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [rowError, setRowError] = useState<{ id: number; error: UiError } | null>(null);
  const [resetFor, setResetFor] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const create = async () => {
    const local = validateUser(form, MIN_PASSWORD);
    setErrors(local);
    setFormError(null);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      await api.adminCreateUser({ ...form, email: form.email.trim(), name: form.name.trim() });
      setForm(emptyUser);
      await props.reload();
    } catch (e) {
      const err = asUiError(e);
      const field = userRefusalField(err);
      if (field) setErrors({ [field]: { text: err.message } });
      else setFormError(err);
    } finally {
      setBusy(false);
    }
  };
  const update = (u: Account, patch: { role?: string; active?: boolean }) =>
    api.adminUpdateUser(u.id, patch).then(
      () => {
        setRowError(null);
        return props.reload();
      },
      (e) => setRowError({ id: u.id, error: asUiError(e) }),
    );
  const set = (k: UserField) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));

  return (
    <>
      <form
        className="admin-form card"
        data-testid="new-user"
        onSubmit={(e) => {
          e.preventDefault();
          create();
        }}
      >
        <h3>{t("newUser")}</h3>
        <label>
          {t("email")}
          <input data-testid="new-user-email" type="email" value={form.email} onChange={set("email")} aria-invalid={!!errors.email} />
          <FieldNote error={errors.email} testid="new-user-email-error" />
        </label>
        <label>
          {t("name")}
          <input data-testid="new-user-name" value={form.name} onChange={set("name")} aria-invalid={!!errors.name} />
          <FieldNote error={errors.name} testid="new-user-name-error" />
        </label>
        <label>
          {t("role")}
          <select data-testid="new-user-role" value={form.role} onChange={set("role")}>
            {props.roles.map((r) => (
              <option key={r.id} value={r.name}>
                {r.name}
              </option>
            ))}
          </select>
          <FieldNote error={errors.role} testid="new-user-role-error" />
        </label>
        <label>
          {t("password")}
          <input data-testid="new-user-password" type="password" autoComplete="new-password" value={form.password} onChange={set("password")} aria-invalid={!!errors.password} />
          <FieldNote error={errors.password} testid="new-user-password-error" />
        </label>
        <button type="submit" className="primary" data-testid="create-user" disabled={busy}>
          {t("createUser")}
        </button>
        {formError && <ErrorNote error={formError} testid="new-user-error" />}
      </form>
      {notice && (
        <p className="hint" data-testid="admin-notice">
          {notice}
        </p>
      )}
      <table className="monitor-table" data-testid="users">
        <thead>
          <tr>
            <th>{t("name")}</th>
            <th>{t("email")}</th>
            <th>{t("role")}</th>
            <th className="num">{t("openSessions")}</th>
            <th>{t("status")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {props.users.map((u) => (
            <tr key={u.id} data-testid="user-row" data-email={u.email} data-active={u.active}>
              <td>{u.name}</td>
              <td>{u.email}</td>
              <td>
                <select
                  data-testid="user-role"
                  aria-label={t("role")}
                  value={u.role}
                  disabled={u.id === props.me.id}
                  title={u.id === props.me.id ? t("ownRoleHint") : undefined}
                  onChange={(e) => update(u, { role: e.target.value })}
                >
                  {props.roles.map((r) => (
                    <option key={r.id} value={r.name}>
                      {r.name}
                    </option>
                  ))}
                </select>
              </td>
              <td className="num">{u.sessions}</td>
              <td>{u.active ? t("activeUser") : t("deactivatedUser")}</td>
              <td className="row-actions">
                {u.id !== props.me.id && (
                  <button data-testid="user-active" onClick={() => update(u, { active: !u.active })}>
                    {u.active ? t("deactivate") : t("activate")}
                  </button>
                )}
                <button data-testid="user-reset" onClick={() => setResetFor(resetFor === u.id ? null : u.id)}>
                  {t("resetPassword")}
                </button>
                {resetFor === u.id && (
                  <ResetPassword
                    user={u}
                    onDone={() => {
                      setResetFor(null);
                      setNotice(t("passwordSet", { name: u.name }));
                      props.reload();
                    }}
                  />
                )}
                {rowError?.id === u.id && <ErrorNote error={rowError.error} testid="user-error" />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function ResetPassword(props: { user: Account; onDone: () => void }) {
  const { t } = useUi();
  const [password, setPassword] = useState("");
  const [error, setError] = useState<FieldError | null>(null);
  const save = async () => {
    if ([...password].length < MIN_PASSWORD) return setError({ key: "passwordShort", vars: { n: MIN_PASSWORD } });
    try {
      await api.adminResetPassword(props.user.id, password);
      props.onDone();
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  return (
    <form
      className="inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        save();
      }}
    >
      <input data-testid="reset-password" type="password" autoComplete="new-password" placeholder={t("newPassword")} value={password} onChange={(e) => setPassword(e.target.value)} />
      <button type="submit" data-testid="reset-save">
        {t("setPassword")}
      </button>
      <FieldNote error={error} testid="reset-error" />
    </form>
  );
}

function permLabel(t: (k: Key) => string, p: Permission): string {
  return t(`perm_${p}` as Key);
}

function Roles(props: { roles: RoleInfo[]; perms: PermissionInfo[]; reload: () => Promise<void> }) {
  const { t } = useUi();
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<Permission[]>([]);
  const [errors, setErrors] = useState<Partial<Record<RoleField, FieldError>>>({});
  const create = async () => {
    const nameError = roleNameError(name);
    setErrors(nameError ? { name: nameError } : {});
    if (nameError) return;
    try {
      await api.adminCreateRole({ name: name.trim(), permissions: chosen });
      setName("");
      setChosen([]);
      await props.reload();
    } catch (e) {
      const err = asUiError(e);
      setErrors({ [roleRefusalField(err) ?? "name"]: { text: err.message } });
    }
  };
  return (
    <>
      <form
        className="admin-form card"
        data-testid="new-role"
        onSubmit={(e) => {
          e.preventDefault();
          create();
        }}
      >
        <h3>{t("newRole")}</h3>
        <label>
          {t("roleName")}
          <input data-testid="new-role-name" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!errors.name} />
          <FieldNote error={errors.name} testid="new-role-name-error" />
        </label>
        <PermissionBoxes perms={props.perms} chosen={chosen} onChange={setChosen} testid="new-role" />
        <FieldNote error={errors.permissions} testid="new-role-permissions-error" />
        <button type="submit" className="primary" data-testid="create-role">
          {t("createRole")}
        </button>
      </form>
      {props.roles.map((r) => (
        <RoleCard key={r.id} role={r} perms={props.perms} reload={props.reload} />
      ))}
    </>
  );
}

function PermissionBoxes(props: { perms: PermissionInfo[]; chosen: Permission[]; onChange: (p: Permission[]) => void; testid: string }) {
  const { t } = useUi();
  return (
    <fieldset className="permissions">
      <legend>{t("permissionsLabel")}</legend>
      {props.perms.map((p) => (
        <label key={p.name} className="row small" title={p.description}>
          <input
            type="checkbox"
            data-testid={`${props.testid}-perm`}
            data-permission={p.name}
            checked={props.chosen.includes(p.name)}
            onChange={(e) => props.onChange(togglePermission(props.chosen, p.name, e.target.checked))}
          />
          {permLabel(t, p.name)}
        </label>
      ))}
    </fieldset>
  );
}

function RoleCard(props: { role: RoleInfo; perms: PermissionInfo[]; reload: () => Promise<void> }) {
  const { t } = useUi();
  const r = props.role;
  const [edited, setEdited] = useState<Permission[]>(r.permissions);
  const [error, setError] = useState<FieldError | null>(null);
  const [saved, setSaved] = useState(false);
  const savedKey = r.permissions.join(",");
  useEffect(() => setEdited(r.permissions), [savedKey]); // eslint-disable-line
  const dirty = permissionsDirty(r.permissions, edited);
  const save = async () => {
    try {
      await api.adminUpdateRole(r.id, { permissions: edited });
      setError(null);
      setSaved(true);
      await props.reload();
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  const remove = async () => {
    try {
      await api.adminDeleteRole(r.id);
      await props.reload();
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  return (
    <div className="card role-card" data-testid="role" data-name={r.name}>
      <h3>
        {r.name} {r.builtin && <small className="hint">({t("predefined")})</small>} <small className="hint">{t("holders", { n: r.users })}</small>
      </h3>
      <PermissionBoxes perms={props.perms} chosen={edited} onChange={(p) => { setEdited(p); setSaved(false); }} testid="role" />
      <FieldNote error={error} testid="role-error" />
      <div className="row">
        <button className="primary" data-testid="role-save" disabled={!dirty} onClick={save}>
          {t("saveChanges")}
        </button>
        {saved && !dirty && <small className="hint" data-testid="role-saved">{t("saved")}</small>}
        {!r.builtin && r.users === 0 && (
          <button data-testid="role-delete" onClick={remove}>
            {t("deleteRole")}
          </button>
        )}
      </div>
    </div>
  );
}

const noFilter: AuditForm = { actor: "", action: "", from: "", to: "" };
const PAGE = 100;

function AuditLog(props: { users: Account[] }) {
  const { t, lang } = useUi();
  const [form, setForm] = useState<AuditForm>(noFilter);
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<FieldError | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const load = async (append: boolean) => {
    const q = auditQuery(form, PAGE);
    if ("error" in q) return setError({ key: q.error });
    setError(null);
    const before = append && entries?.length ? entries[entries.length - 1].id : undefined;
    try {
      const page = await api.adminAudit({ ...q.query, before });
      setEntries(append ? [...(entries ?? []), ...page] : page);
      setMore(page.length === PAGE);
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  const exportCsv = async () => {
    const q = auditQuery(form);
    if ("error" in q) return setError({ key: q.error });
    try {
      setSaved(await api.adminAuditExport({ ...q.query, limit: undefined }));
      setError(null);
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  useEffect(() => {
    load(false);
  }, []); // eslint-disable-line
  const set = (k: keyof AuditForm) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const actors = [...new Set(["cli", ...props.users.map((u) => u.email), ...(entries ?? []).map((e) => e.actor)])].sort();
  const actions = [...new Set((entries ?? []).map((e) => e.action))].sort();
  const place = saved ? savedPlace(saved) : null;
  return (
    <>
      <form
        className="admin-form card"
        data-testid="audit-filter"
        onSubmit={(e) => {
          e.preventDefault();
          load(false);
        }}
      >
        <h3>{t("auditLog")}</h3>
        <label>
          {t("person")}
          <input data-testid="audit-actor" list="audit-actors" placeholder={t("everyone")} value={form.actor} onChange={set("actor")} />
          <datalist id="audit-actors">
            {actors.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label>
          {t("auditAction")}
          <input data-testid="audit-action" list="audit-actions" value={form.action} onChange={set("action")} />
          <datalist id="audit-actions">
            {actions.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
        </label>
        <label>
          {t("periodFrom")}
          <input data-testid="audit-from" type="date" value={form.from} onChange={set("from")} />
        </label>
        <label>
          {t("periodTo")}
          <input data-testid="audit-to" type="date" value={form.to} onChange={set("to")} aria-invalid={!!error && "key" in error} />
        </label>
        <div className="row">
          <button type="submit" className="primary" data-testid="audit-show">
            {t("showEntries")}
          </button>
          <button type="button" data-testid="audit-export" onClick={exportCsv}>
            {t("exportCsv")}
          </button>
        </div>
        <FieldNote error={error} testid="audit-error" />
        {place && (
          <small className="hint" data-testid="audit-saved" data-path={saved ?? ""}>
            {t("savedAs", { file: place.file, folder: place.folder })}
          </small>
        )}
      </form>
      {entries && entries.length === 0 && <p className="hint">{t("noEntries")}</p>}
      {entries && entries.length > 0 && (
        <table className="monitor-table" data-testid="audit-entries">
          <thead>
            <tr>
              <th>{t("auditWhen")}</th>
              <th>{t("auditWho")}</th>
              <th>{t("auditWhat")}</th>
              <th>{t("auditDetails")}</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => {
              const details = JSON.stringify(e.details);
              return (
                <tr key={e.id} data-testid="audit-entry" data-action={e.action} data-actor={e.actor}>
                  <td className="num">{formatTime(lang, e.at)}</td>
                  <td>{e.actor}</td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td className="details" title={details}>
                    {details.length > 120 ? details.slice(0, 119) + "…" : details}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {more && (
        <button data-testid="audit-more" onClick={() => load(true)}>
          {t("loadMore")}
        </button>
      )}
    </>
  );
}

const emptyNumber: NumberForm = { name: "", display: "", id: "", waba: "" };

/** Business numbers: those in use and those that sent webhooks before anyone added them (held),
 * and a form to add one by name (or adopt a held one, pre-filled). */
function Numbers(props: { me: User; onChanged: () => void }) {
  const [settingsOf, setSettingsOf] = useState<string | null>(null);
  const { t } = useUi();
  const [numbers, setNumbers] = useState<PhoneNumber[] | null>(null);
  const [form, setForm] = useState<NumberForm>(emptyNumber);
  const [errors, setErrors] = useState<Partial<Record<NumberField, FieldError>>>({});
  const [formError, setFormError] = useState<UiError | null>(null);
  const load = () => api.numbers().then(setNumbers, (e) => setFormError(asUiError(e)));
  useEffect(() => {
    load();
  }, []); // eslint-disable-line
  const add = async () => {
    const { errors: local, phone } = validateNumber(form);
    setErrors(local);
    setFormError(null);
    if (Object.keys(local).length) return;
    try {
      await api.adminAddNumber({ phone_number_id: form.id.trim(), display_phone_number: phone, name: form.name.trim(), waba_id: form.waba.trim() || null });
      setForm(emptyNumber);
      await load();
      props.onChanged();
    } catch (e) {
      const err = asUiError(e);
      const field = numberRefusalField(err);
      if (field) setErrors({ [field]: { text: err.message } });
      else setFormError(err);
    }
  };
  const set = (k: NumberField) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));
  const field = (k: NumberField, label: Key, testid: string) => (
    <label>
      {t(label)}
      <input data-testid={testid} value={form[k]} onChange={set(k)} aria-invalid={!!errors[k]} />
      <FieldNote error={errors[k]} testid={`${testid}-error`} />
    </label>
  );
  return (
    <>
      <form
        className="admin-form card"
        data-testid="new-number"
        onSubmit={(e) => {
          e.preventDefault();
          add();
        }}
      >
        <h3>{t("newNumber")}</h3>
        {field("name", "numberName", "number-name")}
        {field("display", "displayNumber", "number-display")}
        {field("id", "phoneNumberId", "number-id")}
        {field("waba", "wabaId", "number-waba")}
        <button type="submit" className="primary" data-testid="add-number">
          {t("addNumber")}
        </button>
        {formError && <ErrorNote error={formError} testid="number-error" />}
      </form>
      {numbers && (
        <table className="monitor-table" data-testid="numbers">
          <thead>
            <tr>
              <th>{t("name")}</th>
              <th>{t("displayNumber")}</th>
              <th>{t("phoneNumberId")}</th>
              <th>{t("status")}</th>
            </tr>
          </thead>
          <tbody>
            {numbers.map((n) => (
              <Fragment key={n.phone_number_id}>
              <tr data-testid="number-row" data-id={n.phone_number_id} data-configured={n.configured}>
                <td>{n.name}</td>
                <td>{n.display_phone_number ? "+" + n.display_phone_number.replace(/^\+/, "") : "—"}</td>
                <td>
                  <code>{n.phone_number_id}</code>
                </td>
                <td className="row-actions">
                  {n.configured ? (
                    <>
                      {t("configured")}
                      <button data-testid="number-settings-open" aria-expanded={settingsOf === n.phone_number_id} onClick={() => setSettingsOf(settingsOf === n.phone_number_id ? null : n.phone_number_id)}>
                        {t("numberSettings")}
                      </button>
                    </>
                  ) : (
                    <>
                      <span className="hint">{t("unconfigured")}</span>
                      <button data-testid="number-adopt" onClick={() => setForm({ name: n.name, display: n.display_phone_number, id: n.phone_number_id, waba: "" })}>
                        {t("adopt")}
                      </button>
                    </>
                  )}
                </td>
              </tr>
              {settingsOf === n.phone_number_id && (
                <tr>
                  <td colSpan={4}>
                    <NumberSettings me={props.me} number={n} />
                  </td>
                </tr>
              )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      <BusinessAccounts numbers={numbers ?? []} />
      <WhatsAppSide numbers={numbers ?? []} />
    </>
  );
}
