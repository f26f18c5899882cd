// Form logic of the routing and number settings, the supervisor's queue and the alert list:
// validation as the relay does it, parsing of the short text forms (lists, opening hours), and
// which field a relay refusal is about. Pure functions, tested with vitest.
import type { FieldError } from "./adminForms";
import type { Key } from "./i18n";
import type { Alert, BusinessHours, RateSettings, RoutingSettings, UiError, WaitReason } from "./types";

/** A comma- or line-separated list: trimmed, without empties or repeats, in the order typed. */
export function parseList(s: string): string[] {
  const out: string[] = [];
  for (const x of s.split(/[,\n]/)) {
    const v = x.trim();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** A whole number typed into a field, or null. */
export function wholeNumber(s: string): number | null {
  const t = s.trim();
  return /^-?\d+$/.test(t) ? Number(t) : null;
}

export interface SettingsForm {
  grace: string;
  alert: string;
  overdue: string;
}
export type SettingsField = keyof SettingsForm;

/** The relay's checks on routing settings (seconds): grace >= 0, alert >= 1, overdue >= alert. */
export function validateSettings(f: SettingsForm): { errors: Partial<Record<SettingsField, FieldError>>; value?: RoutingSettings } {
  const errors: Partial<Record<SettingsField, FieldError>> = {};
  const grace = wholeNumber(f.grace);
  const alert = wholeNumber(f.alert);
  const overdue = wholeNumber(f.overdue);
  if (grace === null || grace < 0) errors.grace = { key: "atLeast", vars: { n: 0 } };
  if (alert === null || alert < 1) errors.alert = { key: "atLeast", vars: { n: 1 } };
  if (overdue === null || (alert !== null && overdue < alert) || overdue < 1) errors.overdue = { key: "overdueAfterAlert" };
  if (Object.keys(errors).length) return { errors };
  return { errors, value: { grace_period_s: grace!, alert_after_s: alert!, overdue_after_s: overdue! } };
}

/** An agent's capacity as the relay takes it: 0 to 1000. */
export function capacityError(s: string): FieldError | null {
  const n = wholeNumber(s);
  if (n === null || n < 0 || n > 1000) return { key: "between", vars: { min: 0, max: 1000 } };
  return null;
}

/** Sticky days as the relay takes them: 0 to 365. */
export function stickyError(s: string): FieldError | null {
  const n = wholeNumber(s);
  if (n === null || n < 0 || n > 365) return { key: "between", vars: { min: 0, max: 365 } };
  return null;
}

export interface RateForm {
  perMinute: string;
  burst: string;
}
export type RateField = keyof RateForm;

/** The relay's limits of a number's send rate: 20..120 per minute, a burst of 1..120. */
export function validateRate(f: RateForm, current: RateSettings): { errors: Partial<Record<RateField, FieldError>>; value?: RateSettings } {
  const errors: Partial<Record<RateField, FieldError>> = {};
  const pm = wholeNumber(f.perMinute);
  const burst = wholeNumber(f.burst);
  if (pm === null || pm < 20 || pm > 120) errors.perMinute = { key: "between", vars: { min: 20, max: 120 } };
  if (burst === null || burst < 1 || burst > 120) errors.burst = { key: "between", vars: { min: 1, max: 120 } };
  if (Object.keys(errors).length) return { errors };
  return { errors, value: { ...current, per_minute: pm!, burst: burst! } };
}

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Day = (typeof DAYS)[number];

const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

/** One day's opening hours typed as `09:00-12:00, 13:00-17:30` ("" = closed). */
export function parseDay(s: string): { intervals: [string, string][] } | { error: FieldError } {
  const out: [string, string][] = [];
  for (const part of s.split(",")) {
    const p = part.trim();
    if (!p) continue;
    const m = /^(\S+)\s*[-–]\s*(\S+)$/.exec(p);
    if (!m) return { error: { key: "hoursFormat" } };
    const [from, to] = [m[1], m[2]];
    if (!TIME.test(from) || !(TIME.test(to) || to === "24:00")) return { error: { key: "hoursFormat" } };
    if (to !== "24:00" && to <= from) return { error: { key: "hoursOrder", vars: { from, to } } };
    out.push([from, to]);
  }
  return { intervals: out };
}

/** A day's intervals as the form shows them. */
export function formatDay(intervals: [string, string][] | undefined): string {
  return (intervals ?? []).map(([a, b]) => `${a}-${b}`).join(", ");
}

export type HoursForm = { timeZone: string; enabled: boolean } & Record<Day, string>;

/** The form of stored hours (or a sensible start: weekdays 9 to 17 in Berlin). */
export function hoursForm(h: BusinessHours | null): HoursForm {
  const f = { timeZone: h?.time_zone ?? "Europe/Berlin", enabled: h?.enabled ?? true } as HoursForm;
  for (const d of DAYS) f[d] = h ? formatDay(h.weekly[d]) : ["sat", "sun"].includes(d) ? "" : "09:00-17:00";
  return f;
}

/** Validates the hours form onto the stored settings (what the form does not show is kept). */
export function validateHours(f: HoursForm, base: BusinessHours | null): { errors: Partial<Record<Day | "timeZone", FieldError>>; value?: BusinessHours } {
  const errors: Partial<Record<Day | "timeZone", FieldError>> = {};
  if (!/^[A-Za-z_]+(\/[A-Za-z0-9_+-]+)*$/.test(f.timeZone.trim())) errors.timeZone = { key: "timeZoneInvalid" };
  const weekly: Record<string, [string, string][]> = {};
  for (const d of DAYS) {
    const r = parseDay(f[d]);
    if ("error" in r) errors[d] = r.error;
    else if (r.intervals.length) weekly[d] = r.intervals;
  }
  if (Object.keys(errors).length) return { errors };
  return {
    errors,
    value: {
      closed_dates: [],
      exceptions: [],
      away_message: {},
      away_period_minutes: 720,
      default_language: "de",
      ...(base ?? {}),
      time_zone: f.timeZone.trim(),
      weekly,
      enabled: f.enabled,
    },
  };
}

/** Which field of the hours form a relay refusal names (`weekly.tue: ...`, a time zone). */
export function hoursRefusalField(e: UiError): Day | "timeZone" | null {
  const m = /weekly\.(mon|tue|wed|thu|fri|sat|sun)/.exec(e.message);
  if (m) return m[1] as Day;
  if (/time zone/i.test(e.message)) return "timeZone";
  return null;
}

/** The words for why a customer waits. */
export function reasonKey(r: WaitReason): Key {
  return `wait_${r}` as Key;
}

/** The highest alert sequence number in a list (what opening the list marks as seen). */
export function lastSeq(items: Alert[]): number {
  return items.reduce((m, a) => Math.max(m, a.seq), 0);
}

/** Alerts as the list shows them: those that still apply first, then the newest. */
export function sortAlerts(items: Alert[]): Alert[] {
  return [...items].sort((a, b) => Number(b.applies) - Number(a.applies) || b.seq - a.seq);
}
