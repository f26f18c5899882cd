// The admin console's form logic: validation as the relay does it, dirty state, and where a
// relay refusal belongs (next to which field). Pure functions, tested with vitest.
import type { Key } from "./i18n";
import type { AutoReply, AutoReplyBody, Permission, UiError } from "./types";

export interface UserForm {
  email: string;
  name: string;
  role: string;
  password: string;
}

export type UserField = keyof UserForm;
export type RoleField = "name" | "permissions";

/** What the UI says about a field: a message key (with values) or the relay's own sentence. */
export type FieldError = { key: Key; vars?: Record<string, string | number> } | { text: string };

/** The relay's checks for a new user, before anything is sent. */
export function validateUser(f: UserForm, minPassword: number): Partial<Record<UserField, FieldError>> {
  const out: Partial<Record<UserField, FieldError>> = {};
  const email = f.email.trim();
  if (!email) out.email = { key: "required" };
  else if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 254) out.email = { key: "emailInvalid" };
  if (!f.name.trim()) out.name = { key: "required" };
  if (!f.role) out.role = { key: "required" };
  if ([...f.password].length < minPassword) out.password = { key: "passwordShort", vars: { n: minPassword } };
  return out;
}

/** The relay's rule for role names (`switchboard_protocol::rules::ROLE_NAME`, the pattern its
 * OpenAPI document publishes): no control or invisible characters, of ASCII's punctuation only
 * `-` and `_`, not only spaces. */
export const ROLE_NAME = new RegExp(String.raw`^[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x1f\x7f-\x9f\x21-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e]*[^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x20\x7f-\xa0\x21-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\x00-\x1f\x7f-\x9f\x21-\x2c\x2e\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7e]*$`, "u");

/** 1 to 40 characters as `ROLE_NAME` says. */
export function roleNameError(name: string): FieldError | null {
  const n = name.trim();
  if (!n) return { key: "required" };
  if ([...n].length > 40 || !ROLE_NAME.test(n)) return { key: "roleNameInvalid" };
  return null;
}

/** Which field of a user form a relay refusal is about (`null`: the form as a whole). */
export function userRefusalField(e: UiError): UserField | null {
  const m = e.message.toLowerCase();
  if (e.code === "weak_password" || m.includes("password")) return "password";
  if (m.includes("email")) return "email";
  if (m.includes("role")) return "role";
  if (m.includes("name")) return "name";
  return null;
}

/** Which field of a role form a relay refusal is about. */
export function roleRefusalField(e: UiError): RoleField | null {
  const m = e.message.toLowerCase();
  if (m.includes("permission") || m.includes("manage users")) return "permissions";
  if (m.includes("name") || e.code === "conflict") return "name";
  return null;
}

/** A permission list with `p` switched on or off, in a stable order. */
export function togglePermission(list: Permission[], p: Permission, on: boolean): Permission[] {
  const set = new Set(list);
  if (on) set.add(p);
  else set.delete(p);
  return [...set].sort();
}

/** Whether an edited permission list differs from the saved one (order does not count). */
export function permissionsDirty(saved: Permission[], edited: Permission[]): boolean {
  const a = [...new Set(saved)].sort();
  const b = [...new Set(edited)].sort();
  return a.length !== b.length || a.some((x, i) => x !== b[i]);
}

export interface AuditForm {
  actor: string;
  action: string;
  /** `YYYY-MM-DD` from a date input, or "". */
  from: string;
  to: string;
}

export interface AuditQuery {
  actor?: string;
  action?: string;
  since?: number;
  until?: number;
  before?: number;
  limit?: number;
}

/** Local midnight of a `YYYY-MM-DD` day, in Unix ms (`offsetDays` later). */
function dayStart(day: string, offsetDays = 0): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + offsetDays).getTime();
}

/** The relay's query for the audit filter: whole local days, the end day included; an error key
 * when the period runs backwards. */
export function auditQuery(f: AuditForm, limit = 100): { query: AuditQuery } | { error: Key } {
  const query: AuditQuery = { limit };
  if (f.actor.trim()) query.actor = f.actor.trim();
  if (f.action.trim()) query.action = f.action.trim();
  const since = dayStart(f.from);
  const until = dayStart(f.to, 1);
  if (since !== undefined) query.since = since;
  if (until !== undefined) query.until = until;
  if (since !== undefined && until !== undefined && since >= until) return { error: "periodInvalid" };
  return { query };
}

export interface NumberForm {
  name: string;
  display: string;
  id: string;
  waba: string;
}
export type NumberField = keyof NumberForm;

/** The relay's checks for a new business number; the phone number as digits. */
export function validateNumber(f: NumberForm): { errors: Partial<Record<NumberField, FieldError>>; phone: string } {
  const errors: Partial<Record<NumberField, FieldError>> = {};
  const phone = f.display.replace(/[\s\-()+/]/g, "");
  if (!f.name.trim()) errors.name = { key: "required" };
  else if ([...f.name.trim()].length > 100) errors.name = { key: "atMost", vars: { n: 100 } };
  if (!/^\d{6,15}$/.test(phone)) errors.display = { key: "phoneInvalid" };
  if (!/^\d{1,32}$/.test(f.id.trim())) errors.id = f.id.trim() ? { key: "digitsOnly" } : { key: "required" };
  if (f.waba.trim() && !/^\d{1,32}$/.test(f.waba.trim())) errors.waba = { key: "digitsOnly" };
  return { errors, phone };
}

/** Which field of a number form a relay refusal is about. */
export function numberRefusalField(e: UiError): NumberField | null {
  const m = e.message;
  if (m.includes("phone_number_id")) return "id";
  if (m.includes("display_phone_number")) return "display";
  if (m.includes("waba_id")) return "waba";
  if (m.includes("name")) return "name";
  return null;
}

export type MatchMode = "any" | "all" | "exact" | "regex";

export interface RuleForm {
  name: string;
  number: string;
  keywords: string;
  match: MatchMode;
  reply: string;
  handoff: boolean;
}
export type RuleField = "name" | "number" | "keywords" | "reply";

/** Keywords as typed: comma-separated, trimmed, empty ones and repeats (ignoring case) dropped.
 * A regular expression is one keyword, commas and all. */
export function parseKeywords(text: string, match: MatchMode): string[] {
  if (match === "regex") return text.trim() ? [text.trim()] : [];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const k of text.split(",").map((x) => x.trim()).filter(Boolean)) {
    const key = k.toLocaleLowerCase();
    if (!seen.has(key)) {
      seen.add(key);
      out.push(k);
    }
  }
  return out;
}

/** The checks before sending a rule; the relay checks the rest (a regular expression that does
 * not compile, a reply with a sensitive word) and its refusal lands on `ruleRefusalField`. */
export function validateRule(f: RuleForm): Partial<Record<RuleField, FieldError>> {
  const errors: Partial<Record<RuleField, FieldError>> = {};
  if (!f.name.trim()) errors.name = { key: "required" };
  if (!f.number) errors.number = { key: "required" };
  if (parseKeywords(f.keywords, f.match).length === 0) errors.keywords = { key: "required" };
  if (!f.reply.trim()) errors.reply = { key: "required" };
  return errors;
}

export function ruleRefusalField(e: UiError): RuleField | null {
  const m = e.message.toLowerCase();
  if (m.includes("keyword") || m.includes("regular expression") || m.includes("regex")) return "keywords";
  if (m.includes("sensitive") || m.includes("reply") || m.includes("text")) return "reply";
  if (m.includes("phone_number_id") || m.includes("number")) return "number";
  return null;
}

/** A word list as typed, one entry per line: trimmed, empty lines and repeats (ignoring case)
 * dropped, in the order typed. */
export function parseWordList(text: string): string[] {
  const seen = new Set<string>();
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => {
      const k = l.toLocaleLowerCase();
      if (!l || seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}

/** The form showing a stored rule, for editing. */
export function ruleForm(r: AutoReply): RuleForm {
  return { name: r.name, number: r.phone_number_id, keywords: r.keywords.join(", "), match: r.match, reply: String(r.reply.text ?? ""), handoff: r.handoff };
}

/** The body to save from the form: a new rule, or `base` edited (what the form does not show,
 * such as priority, cooldown, media of the reply and the paused state, is kept). */
export function ruleBody(f: RuleForm, base?: AutoReply): AutoReplyBody {
  const reply = { ...(base?.reply ?? {}), text: f.reply.trim() };
  return {
    phone_number_id: f.number,
    name: f.name.trim(),
    keywords: parseKeywords(f.keywords, f.match),
    match: f.match,
    whole_word: base?.whole_word ?? true,
    reply,
    priority: base?.priority ?? 0,
    cooldown_seconds: base?.cooldown_seconds ?? 3600,
    handoff: f.handoff,
    paused: base?.paused ?? false,
  };
}

/** A stored rule as a body to save with `paused` switched. */
export function pausedBody(r: AutoReply, paused: boolean): AutoReplyBody {
  const { id: _id, created_by: _by, created_at: _at, updated_by: _uby, updated_at: _uat, ...body } = r;
  return { ...body, paused };
}

/** The relay's rule for a language code of a word list: 2 or 3 lower-case letters (ISO 639). */
export function languageCodeError(code: string, taken: string[]): FieldError | null {
  const c = code.trim();
  if (!/^[a-z]{2,3}$/.test(c)) return { key: "languageCodeInvalid" };
  if (taken.includes(c)) return { key: "languageTaken" };
  return null;
}

/** Per-language lists as the relay takes them (a language with an empty list is left out). */
export function languageLists(texts: Record<string, string>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [lang, text] of Object.entries(texts)) {
    const list = parseWordList(text);
    if (list.length) out[lang] = list;
  }
  return out;
}
