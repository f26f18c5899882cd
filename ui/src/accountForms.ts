// Credentials per business account: what the forms check before anything is sent (as the relay
// does) and which field a relay refusal belongs to. Tokens and secrets are never shown again
// once saved; the form says only whether an account has its own.
import type { FieldError } from "./adminForms";
import type { HistoryImport, UiError } from "./types";

export type AccountField = "waba" | "name" | "app" | "token";
export interface AccountForm {
  waba: string;
  name: string;
  /** "" for none: the relay's own app secret. */
  app: string;
  /** "" keeps the stored token. */
  token: string;
  /** Drop the account's own token (the relay's is used again). */
  dropToken: boolean;
}

export type AppField = "app" | "secret";

const META_ID = /^\d{1,32}$/;
/** As the relay checks them: 8 to 1024 printable characters without spaces. */
const CREDENTIAL = /^[\x21-\x7e]{8,1024}$/;

export function validateAccount(f: AccountForm): Partial<Record<AccountField, FieldError>> {
  const out: Partial<Record<AccountField, FieldError>> = {};
  if (!META_ID.test(f.waba.trim())) out.waba = f.waba.trim() ? { key: "digitsOnly" } : { key: "required" };
  if ([...f.name.trim()].length > 100) out.name = { key: "atMost", vars: { n: 100 } };
  if (f.app && !META_ID.test(f.app)) out.app = { key: "digitsOnly" };
  if (!f.dropToken && f.token.trim() && !CREDENTIAL.test(f.token.trim())) out.token = { key: "credentialInvalid" };
  return out;
}

/** The body of `PUT /api/v1/admin/business-accounts/{waba_id}`: a token only when one was typed
 * (or `""` to drop it). */
export function accountUpdate(f: AccountForm): { name: string | null; app_id: string | null; access_token?: string } {
  const body: { name: string | null; app_id: string | null; access_token?: string } = {
    name: f.name.trim() || null,
    app_id: f.app || null,
  };
  if (f.dropToken) body.access_token = "";
  else if (f.token.trim()) body.access_token = f.token.trim();
  return body;
}

export function validateApp(app: string, secret: string): Partial<Record<AppField, FieldError>> {
  const out: Partial<Record<AppField, FieldError>> = {};
  if (!META_ID.test(app.trim())) out.app = app.trim() ? { key: "digitsOnly" } : { key: "required" };
  if (!CREDENTIAL.test(secret.trim())) out.secret = { key: "credentialInvalid" };
  return out;
}

/** Which field of the account form a relay refusal is about (`null`: the whole form, e.g. no
 * SWITCHBOARD_SECRET_KEY on the relay). */
export function accountRefusalField(e: UiError): AccountField | null {
  if (e.code === "no_secret_key") return null;
  const m = e.message;
  if (m.includes("waba_id")) return "waba";
  if (m.includes("app")) return "app";
  if (m.includes("access_token")) return "token";
  if (m.includes("name")) return "name";
  return null;
}

/** A number's shared chat history in words: declined (with Meta's reason), on its way, complete,
 * or nothing received. The newest phase counts; a refusal wins. */
export function historyState(imports: HistoryImport[], phoneNumberId: string):
  | { key: "historyDeclined"; vars: { reason: string } }
  | { key: "historyProgress" | "historyDone"; vars: { progress: number; messages: number } }
  | { key: "historyNone"; vars: Record<string, never> } {
  const mine = imports.filter((h) => h.phone_number_id === phoneNumberId);
  const declined = mine.find((h) => h.error);
  if (declined) return { key: "historyDeclined", vars: { reason: declined.error ?? "" } };
  if (mine.length === 0) return { key: "historyNone", vars: {} };
  const messages = mine.reduce((n, h) => n + h.messages, 0);
  const latest = mine.reduce((a, b) => (b.phase > a.phase ? b : a));
  const progress = latest.progress ?? 0;
  return { key: progress >= 100 ? "historyDone" : "historyProgress", vars: { progress, messages } };
}

/** Bytes for people: 1 decimal from kB on (1000-based, as disks are sold). */
export function formatBytes(n: number, lang: "en" | "de"): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  const num = new Intl.NumberFormat(lang === "de" ? "de-DE" : "en-US", { maximumFractionDigits: u === 0 ? 0 : 1 }).format(v);
  return `${num} ${units[u]}`;
}
