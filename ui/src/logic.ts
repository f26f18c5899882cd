// Pure UI logic (no React, no backend): list filters, the 24-hour window, delivery ticks,
// search highlights. Unit-tested in logic.test.ts.
import type { Conversation, TimelineItem } from "./types";

export type View = "mine" | "unassigned" | "all";

export interface ListFilter {
  view: View;
  /** A business number's phone_number_id, or null for every number. */
  number: string | null;
  /** "open", "resolved", or null for both. */
  status: string | null;
  unreadOnly: boolean;
}

export const defaultFilter: ListFilter = { view: "all", number: null, status: "open", unreadOnly: false };

export function matches(c: Conversation, f: ListFilter, me: number | null): boolean {
  if (f.view === "mine" && (me === null || c.assignee_id !== me)) return false;
  if (f.view === "unassigned" && c.assignee_id !== null) return false;
  if (f.number !== null && c.phone_number_id !== f.number) return false;
  if (f.status !== null && c.status !== f.status) return false;
  if (f.unreadOnly && c.unread_count <= 0) return false;
  return true;
}

/** Newest first; ties by id, like the cache's own order. */
export function byRecency(a: Conversation, b: Conversation): number {
  return b.last_message_at - a.last_message_at || b.id - a.id;
}

export function filterConversations(list: Conversation[], f: ListFilter, me: number | null): Conversation[] {
  return list.filter((c) => matches(c, f, me));
}

/** Unread conversations per view (for the badges on the view tabs), honouring number and status. */
export function unreadByView(list: Conversation[], f: ListFilter, me: number | null): Record<View, number> {
  const out: Record<View, number> = { mine: 0, unassigned: 0, all: 0 };
  for (const c of list) {
    if (c.unread_count <= 0) continue;
    for (const view of ["mine", "unassigned", "all"] as View[]) {
      if (matches(c, { ...f, view, unreadOnly: false }, me)) out[view] += 1;
    }
  }
  return out;
}

/** Replaces or inserts conversations, or removes ids given in `removed`; keeps recency order. */
export function upsert(list: Conversation[], changed: Conversation[], removed: number[] = []): Conversation[] {
  const gone = new Set([...removed, ...changed.map((c) => c.id)]);
  return list.filter((c) => !gone.has(c.id)).concat(changed).sort(byRecency);
}

/** The business numbers present in the list, for the number filter. */
export function numbersOf(list: Conversation[]): string[] {
  return [...new Set(list.map((c) => c.phone_number_id))].sort();
}

export function moveSelection(current: number, delta: number, length: number): number {
  if (length === 0) return -1;
  if (current < 0) return delta > 0 ? 0 : length - 1;
  return Math.min(length - 1, Math.max(0, current + delta));
}

// ---------------------------------------------------------------- the 24-hour window

export const WINDOW_MS = 24 * 3600 * 1000;
/** Under this much time left the countdown warns. */
export const WARN_MS = 3600 * 1000;

export type WindowPhase = "none" | "open" | "closing" | "closed";

export interface WindowState {
  phase: WindowPhase;
  /** Milliseconds until the window closes (0 once closed or never opened). */
  left: number;
}

/**
 * The customer-service window: free-form messages are allowed for 24 hours after the customer
 * last wrote. "none": the customer never wrote (only templates may start the conversation).
 */
export function windowState(lastInboundAt: number | null, now: number): WindowState {
  if (lastInboundAt === null) return { phase: "none", left: 0 };
  const left = lastInboundAt + WINDOW_MS - now;
  if (left <= 0) return { phase: "closed", left: 0 };
  return { phase: left <= WARN_MS ? "closing" : "open", left };
}

/** Free text may be sent only while the window is open. */
export function canSendFreeText(w: WindowState): boolean {
  return w.phase === "open" || w.phase === "closing";
}

/** "23:59:59"-style countdown (hours may exceed two digits never: the window is 24 h). */
export function formatCountdown(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  return `${h}:${two(m)}:${two(sec)}`;
}

// ---------------------------------------------------------------- delivery ticks

export type Tick = "queued" | "sent" | "delivered" | "read" | "failed";

export interface TickInfo {
  /** What `data-status` says. */
  status: Tick;
  /** A local outbox row not yet accepted by the relay (shown with a clock). */
  pending: boolean;
  /** Why it failed, in words, when it did. */
  reason: string | null;
  /** Whether a retry makes sense (outbox refusals can be retried; relay failures re-sent). */
  retryable: boolean;
}

/** Delivery state of a timeline item; `null` for inbound messages (they carry no ticks). */
export function tickInfo(item: TimelineItem): TickInfo | null {
  if (item.kind === "pending") {
    if (item.state === "failed") {
      return { status: "failed", pending: true, reason: item.error_message ?? item.error_code, retryable: true };
    }
    return { status: "queued", pending: true, reason: null, retryable: false };
  }
  if (item.direction !== "outbound") return null;
  switch (item.status) {
    case "failed":
      return { status: "failed", pending: false, reason: item.error?.reason ?? item.error?.title ?? null, retryable: true };
    case "read":
    case "played":
      return { status: "read", pending: false, reason: null, retryable: false };
    case "delivered":
      return { status: "delivered", pending: false, reason: null, retryable: false };
    case "sent":
      return { status: "sent", pending: false, reason: null, retryable: false };
    default:
      return { status: "queued", pending: false, reason: null, retryable: false };
  }
}

/** WhatsApp's tick language: clock, one grey tick, two grey, two blue, a red mark. */
export function tickGlyph(t: TickInfo): string {
  if (t.status === "failed") return "!";
  if (t.status === "queued") return "\u25F7";
  return t.status === "sent" ? "\u2713" : "\u2713\u2713";
}

// ---------------------------------------------------------------- search highlights

export interface Segment {
  text: string;
  hit: boolean;
}

/** Splits a search snippet with the engine's markers (\u0002 ... \u0003) into segments. */
export function splitHits(snippet: string): Segment[] {
  const out: Segment[] = [];
  let hit = false;
  let cur = "";
  for (const ch of snippet) {
    if (ch === "\u0002" || ch === "\u0003") {
      if (cur) out.push({ text: cur, hit });
      cur = "";
      hit = ch === "\u0002";
    } else {
      cur += ch;
    }
  }
  if (cur) out.push({ text: cur, hit });
  return out;
}
