// Pure UI logic (no React, no backend): list filters, the 24-hour window, delivery ticks,
// search highlights. Unit-tested in logic.test.ts.
import type { Block, Conversation, Message, MonitorAgent, Permission, PhoneNumber, TimelineItem, User } from "./types";

export type View = "mine" | "unassigned" | "all";

export interface ListFilter {
  view: View;
  /** A business number's phone_number_id, or null for every number. */
  number: string | null;
  /** "open", "resolved", or null for both. */
  status: string | null;
  unreadOnly: boolean;
  /** Only customers carrying this tag, or null for any. */
  tag: string | null;
}

export const defaultFilter: ListFilter = { view: "all", number: null, status: "open", unreadOnly: false, tag: null };

export function matches(c: Conversation, f: ListFilter, me: number | null): boolean {
  if (f.view === "mine" && (me === null || c.assignee_id !== me)) return false;
  if (f.view === "unassigned" && c.assignee_id !== null) return false;
  if (f.number !== null && c.phone_number_id !== f.number) return false;
  if (f.status !== null && c.status !== f.status) return false;
  if (f.unreadOnly && c.unread_count <= 0) return false;
  if (f.tag !== null && !(c.contact.tags ?? []).includes(f.tag)) return false;
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

/** A business number as people call it: its name, else its phone number, else Meta's id (which
 * otherwise appears only in admin details). */
export function numberLabel(phoneNumberId: string, numbers: PhoneNumber[]): string {
  const n = numbers.find((x) => x.phone_number_id === phoneNumberId);
  if (n?.name.trim()) return n.name.trim();
  if (n?.display_phone_number) return "+" + n.display_phone_number.replace(/^\+/, "");
  return phoneNumberId;
}

/** The number filter's choices: every number of the relay and of the list, by label. */
export function numberChoices(list: Conversation[], numbers: PhoneNumber[]): { id: string; label: string }[] {
  const ids = new Set([...numbers.map((n) => n.phone_number_id), ...numbersOf(list)]);
  return [...ids].map((id) => ({ id, label: numberLabel(id, numbers) })).sort((a, b) => a.label.localeCompare(b.label) || a.id.localeCompare(b.id));
}

// ---------------------------------------------------------------- tags

/** A tag as the relay keeps it: trimmed, lower case, inner whitespace as one dash; null if empty. */
export function normalizeTag(input: string): string | null {
  const t = input.trim().toLowerCase().replace(/\s+/g, "-");
  return t ? t : null;
}

/** The tags with one more (normalized, no duplicates), or the same list if nothing to add. */
export function withTag(tags: string[], input: string): string[] {
  const t = normalizeTag(input);
  return t === null || tags.includes(t) ? tags : [...tags, t];
}

export function withoutTag(tags: string[], tag: string): string[] {
  return tags.filter((t) => t !== tag);
}

/** The tags present in the list, most conversations first, then by name (for the tag filter). */
export function tagsOf(list: Conversation[]): string[] {
  const n = new Map<string, number>();
  for (const c of list) for (const t of c.contact.tags ?? []) n.set(t, (n.get(t) ?? 0) + 1);
  return [...n.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([t]) => t);
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

export type Tick = "queued" | "sent" | "delivered" | "read" | "played" | "failed";

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
  // What the phone app sent, or the shared history holds, did not go through Switchboard:
  // nothing here can send it again.
  const ours = item.origin !== "phone_app" && item.origin !== "history";
  switch (item.status) {
    case "failed":
      return { status: "failed", pending: false, reason: item.error?.reason ?? item.error?.title ?? null, retryable: ours };
    case "read":
      return { status: "read", pending: false, reason: null, retryable: false };
    case "played":
      return { status: "played", pending: false, reason: null, retryable: false };
    case "delivered":
      return { status: "delivered", pending: false, reason: null, retryable: false };
    case "sent":
      return { status: "sent", pending: false, reason: null, retryable: false };
    default:
      return { status: "queued", pending: false, reason: null, retryable: false };
  }
}

/** WhatsApp's tick language: clock, one grey tick, two grey, two blue (also for a played voice
 * message, whose colour and label say so), a red mark. */
export function tickGlyph(t: TickInfo): string {
  if (t.status === "failed") return "!";
  if (t.status === "queued") return "\u25F7";
  return t.status === "sent" ? "\u2713" : "\u2713\u2713";
}

// ---------------------------------------------------------------- where a message came from

/** The label of a message's origin, when it did not come through Switchboard: sent from the
 * WhatsApp Business app on the phone (Coexistence), or part of the history shared at onboarding. */
export function originLabel(m: Pick<Message, "origin">): "viaPhoneApp" | "fromHistory" | null {
  if (m.origin === "phone_app") return "viaPhoneApp";
  if (m.origin === "history") return "fromHistory";
  return null;
}

/** What a deleted message's note says: the customer deleted theirs; the phone app deleted what
 * the business sent from it. */
export function deletedNoteKey(m: Pick<Message, "direction">): "deletedByCustomer" | "deletedOnPhone" {
  return m.direction === "outbound" ? "deletedOnPhone" : "deletedByCustomer";
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

// ---------------------------------------------------------------- reactions

export interface Reaction {
  emoji: string;
  /** Who reacted: the customer (inbound) or the business (outbound). */
  from: "customer" | "business";
}

export interface Grouped {
  /** The timeline without the reaction messages that attach to a shown message. */
  items: TimelineItem[];
  /** Reactions per message id (the latest of each side; removed reactions are gone). */
  reactions: Map<number, Reaction[]>;
}

function isReaction(i: TimelineItem): boolean {
  return i.kind === "message" && i.type === "reaction";
}

/** The wamid a reaction message points at, and its emoji (null: the reaction was removed). */
export function reactionOf(m: Message): { target: string | null; emoji: string | null } {
  const c = m.content ?? {};
  const r = c.reaction ?? c;
  const target = typeof r.message_id === "string" && r.message_id ? r.message_id : null;
  const emoji = typeof r.emoji === "string" && r.emoji ? r.emoji : null;
  return { target, emoji };
}

/**
 * WhatsApp shows a reaction on the message it reacts to, not as a message of its own. Each side
 * (customer, business) has at most one reaction per message: the latest one counts, and a
 * reaction without an emoji removes it. A reaction whose target is not in the timeline (an older
 * page) stays visible as its own bubble, the latest one per target only.
 */
export function groupReactions(items: TimelineItem[]): Grouped {
  const byWamid = new Map<string, number>();
  for (const i of items) if (i.kind === "message" && i.wamid && !isReaction(i)) byWamid.set(i.wamid, i.id);
  // Latest reaction per (target, side); items come oldest first.
  const latest = new Map<string, Message>();
  for (const i of items) {
    if (i.kind !== "message" || !isReaction(i)) continue;
    const { target } = reactionOf(i);
    if (target === null) continue;
    latest.set(`${target}|${i.direction}`, i);
  }
  const reactions = new Map<number, Reaction[]>();
  const orphans = new Set<Message>();
  for (const m of latest.values()) {
    const { target, emoji } = reactionOf(m);
    const id = byWamid.get(target!);
    if (emoji === null) continue;
    if (id === undefined) {
      orphans.add(m);
      continue;
    }
    const list = reactions.get(id) ?? [];
    list.push({ emoji, from: m.direction === "inbound" ? "customer" : "business" });
    reactions.set(id, list);
  }
  return { items: items.filter((i) => i.kind !== "message" || !isReaction(i) || orphans.has(i) || reactionOf(i).target === null), reactions };
}

// ---------------------------------------------------------------- conversation actions

export type ConvAction = "assignToMe" | "transfer" | "resolve" | "reopen";

/** The header actions a conversation offers: resolved ones can only be reopened. */
export function actionsFor(c: Conversation, me: User): ConvAction[] {
  if (c.status === "resolved") return ["reopen"];
  // A colleague's conversation is taken or handed on only with `reassign` (the relay's rule).
  const colleagues = c.assignee_id !== null && c.assignee_id !== me.id;
  if (colleagues && !can(me, "reassign")) return ["resolve"];
  const out: ConvAction[] = [];
  if (c.assignee_id !== me.id) out.push("assignToMe");
  out.push("transfer", "resolve");
  return out;
}

/** Whether the signed-in user's role grants a permission (older caches hold no list: none). */
export function can(me: User, permission: Permission): boolean {
  return (me.permissions ?? []).includes(permission);
}

/** The relay's rule: without `see_all_conversations` a person sees the conversations assigned to
 * them or to nobody; with it, all. */
export function visibleTo(c: Conversation, me: User): boolean {
  return can(me, "see_all_conversations") || c.assignee_id === null || c.assignee_id === me.id;
}

/** The error codes the UI has words for; anything else is shown with the generic headline. */
export const knownErrors = ["offline", "forbidden", "not_found", "conflict", "invalid", "bad_request", "auth_expired", "unauthorized"] as const;
export type KnownError = (typeof knownErrors)[number];
export function errorKind(code: string): KnownError | "other" {
  return (knownErrors as readonly string[]).includes(code) ? (code as KnownError) : "other";
}

// ---------------------------------------------------------------- the supervisor monitor

/** Agents in a fixed order (name, then id) so rows never jump when numbers change. */
export function sortAgents(agents: MonitorAgent[]): MonitorAgent[] {
  return [...agents].sort((a, b) => a.name.localeCompare(b.name) || a.id - b.id);
}

export type Load = "idle" | "ok" | "busy" | "over";

/** How loaded an agent is: nothing open, some, at least 80 % of capacity, at or past capacity. */
export function loadLevel(open: number, capacity: number): Load {
  if (open <= 0) return "idle";
  if (capacity <= 0 || open >= capacity) return "over";
  return open / capacity >= 0.8 ? "busy" : "ok";
}

/** "45 s", "3 min", "1 h 05 min" (units are the same in German and English); "—" for none. */
export function formatDuration(seconds: number | null | undefined, lang: string): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  const nf = new Intl.NumberFormat(lang);
  if (s < 60) return `${nf.format(s)} s`;
  if (s < 3600) return `${nf.format(Math.floor(s / 60))} min`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${nf.format(h)} h ${String(m).padStart(2, "0")} min`;
}

/**
 * When to fetch the monitor again after a change event arrived at `now`: at once if the last
 * fetch is at least `gap` ms old, otherwise when it will be (events in between are coalesced).
 */
export function nextFetchDelay(lastFetchAt: number, now: number, gap: number): number {
  return Math.max(0, lastFetchAt + gap - now);
}

/** Whether a template can be sent: every header and body placeholder has a non-blank value. */
export function templateReady(
  tpl: { body_params: number; header_params?: number },
  headerParams: string[],
  params: string[],
): boolean {
  const filled = (values: string[], n: number) =>
    Array.from({ length: n }, (_, i) => (values[i] ?? "").trim() !== "").every(Boolean);
  return filled(headerParams, tpl.header_params ?? 0) && filled(params, tpl.body_params);
}

/** The types WhatsApp sends, by file extension, for files the OS gave no type. */
const ATTACHMENT_TYPES: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  pdf: "application/pdf",
  txt: "text/plain",
  csv: "text/csv",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  ppt: "application/vnd.ms-powerpoint",
  pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
};

/** The file picker's accept list. */
export const ATTACHMENT_ACCEPT = Object.values(ATTACHMENT_TYPES).filter((v, i, a) => a.indexOf(v) === i).join(",");

/** The MIME type to upload a picked file as: the browser's when it is one WhatsApp sends, else by
 * extension; null when WhatsApp cannot send the file at all. */
export function attachmentType(name: string, browserType: string): string | null {
  const known = new Set(Object.values(ATTACHMENT_TYPES));
  if (browserType && known.has(browserType)) return browserType;
  const ext = name.includes(".") ? name.split(".").pop()!.toLowerCase() : "";
  return ATTACHMENT_TYPES[ext] ?? null;
}

/** A saved file's path as the person reads it: the file's name and its folder's name
 * (`/home/eva/Downloads/rechnung (1).pdf` -> `rechnung (1).pdf`, `Downloads`), on any OS. */
export function savedPlace(path: string): { file: string; folder: string } {
  const parts = path.split(/[\\/]/).filter((p) => p !== "");
  const file = parts.pop() ?? path;
  return { file, folder: parts.pop() ?? "" };
}

// ---------------------------------------------------------------- blocked messages

export type BlockState = "pending" | "released" | "rejected";

export function blockState(b: Block): BlockState {
  if (b.allowed_by !== null) return "released";
  if (b.rejected_by !== null) return "rejected";
  return "pending";
}

/** Waiting ones first (oldest first: they have waited longest), then the decided, newest first. */
export function sortBlocks(list: Block[]): Block[] {
  const pending = list.filter((b) => blockState(b) === "pending").sort((a, b) => a.created_at - b.created_at || a.id - b.id);
  const done = list.filter((b) => blockState(b) !== "pending").sort((a, b) => b.created_at - a.created_at || b.id - a.id);
  return [...pending, ...done];
}

/** What the blocked message says (its text or a file's caption). */
export function blockText(b: Block): string {
  return String(b.request.text ?? b.request.caption ?? `[${b.request.type ?? "?"}]`);
}

/** What the customer panel says about marketing messages: the words' key and whether the
 * customer stopped them (a campaign leaves them out). */
export function marketingState(pref: { choice: string; at: number } | null | undefined): { key: "marketingNone" | "marketingStopped" | "marketingResumed"; stopped: boolean } {
  if (!pref) return { key: "marketingNone", stopped: false };
  return pref.choice === "stop" ? { key: "marketingStopped", stopped: true } : { key: "marketingResumed", stopped: false };
}
