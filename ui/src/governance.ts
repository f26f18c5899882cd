// Data governance decisions for the admin console and the customer panel: retention choices
// (presets or a number of days, 90 to 3650, or for ever), legal-hold reasons, which hold applies
// to an open conversation, and the typed confirmation an erasure needs. Mirrors the relay's
// checks (`protocol::governance`) so a form says what is wrong before anything is sent.
import type { LegalHold } from "./types";

export const MIN_RETENTION_DAYS = 90;
export const MAX_RETENTION_DAYS = 3650;
/** 90 days, half a year, 1, 2, 5 and 10 years. */
export const RETENTION_PRESETS = [90, 180, 365, 730, 1825, 3650] as const;

/** What the select holds: "forever", a preset's days as text, or "custom". */
export type RetentionChoice = "forever" | "custom" | `${number}`;

export function choiceOf(days: number | null): RetentionChoice {
  if (days === null) return "forever";
  return (RETENTION_PRESETS as readonly number[]).includes(days) ? (`${days}` as RetentionChoice) : "custom";
}

export type RetentionInput = { ok: true; days: number | null } | { ok: false; error: "retentionRange" | "retentionWhole" };

/** The days to send for a choice (and the custom field when "custom" is chosen). */
export function parseRetention(choice: RetentionChoice, custom: string): RetentionInput {
  if (choice === "forever") return { ok: true, days: null };
  const raw = choice === "custom" ? custom.trim() : choice;
  if (!/^\d+$/.test(raw)) return { ok: false, error: "retentionWhole" };
  const days = Number(raw);
  if (days < MIN_RETENTION_DAYS || days > MAX_RETENTION_DAYS) return { ok: false, error: "retentionRange" };
  return { ok: true, days };
}

/** How a retention reads: in years when it is whole years, else in days. */
export function retentionParts(days: number | null): { key: "retentionForever" | "retentionOneYear" | "retentionYears" | "retentionDays"; n: number } {
  if (days === null) return { key: "retentionForever", n: 0 };
  if (days === 365) return { key: "retentionOneYear", n: 1 };
  if (days % 365 === 0) return { key: "retentionYears", n: days / 365 };
  return { key: "retentionDays", n: days };
}

/** A hold's reason as the relay stores it, or why not. */
export function holdReason(input: string): { ok: true; reason: string } | { ok: false; error: "holdReasonEmpty" | "holdReasonLong" | "holdReasonLine" } {
  const reason = input.trim();
  if (reason.length === 0) return { ok: false, error: "holdReasonEmpty" };
  if ([...reason].length > 200) return { ok: false, error: "holdReasonLong" };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(reason)) return { ok: false, error: "holdReasonLine" };
  return { ok: true, reason };
}

/** The holds that keep an open conversation: its customer's and its own. */
export function holdsFor(holds: LegalHold[], contactId: number, conversationId: number): { contact?: LegalHold; conversation?: LegalHold } {
  return {
    contact: holds.find((h) => h.contact_id === contactId),
    conversation: holds.find((h) => h.conversation_id === conversationId),
  };
}

/** An erasure goes ahead only once the person typed the word shown (any case, spaces around). */
export function eraseConfirmed(typed: string, word: string): boolean {
  return typed.trim().toLocaleUpperCase() === word.toLocaleUpperCase();
}
