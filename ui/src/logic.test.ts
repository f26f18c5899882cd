import { describe, expect, it } from "vitest";
import {
  blockState,
  deletedNoteKey,
  originLabel,
  marketingState,
  blockText,
  sortBlocks,
  numberChoices,
  numberLabel,
  savedPlace,
  can,
  actionsFor,
  templateReady,
  attachmentType,
  errorKind,
  formatDuration,
  groupReactions,
  loadLevel,
  nextFetchDelay,
  normalizeTag,
  sortAgents,
  tagsOf,
  withTag,
  withoutTag,
  canSendFreeText,
  filterConversations,
  formatCountdown,
  moveSelection,
  splitHits,
  tickGlyph,
  tickInfo,
  unreadByView,
  upsert,
  visibleTo,
  windowState,
  WINDOW_MS,
  type ListFilter,
} from "./logic";
import type { Block, Conversation, Message, MonitorAgent, Pending, TimelineItem, User } from "./types";

const ME = 7;
function conv(id: number, over: Partial<Conversation> = {}): Conversation {
  return {
    id,
    phone_number_id: "pn1",
    contact: { id, wa_id: `49${id}`, bsuid: null, username: null, name: `C${id}` },
    status: "open",
    assignee_id: null,
    last_inbound_at: 0,
    last_message_at: id * 10,
    last_message_preview: "",
    unread_count: 0,
    ...over,
  };
}
const list = [
  conv(1, { assignee_id: ME, unread_count: 2 }),
  conv(2, { assignee_id: null, unread_count: 1 }),
  conv(3, { assignee_id: 99 }),
  conv(4, { assignee_id: ME, status: "resolved" }),
  conv(5, { assignee_id: null, phone_number_id: "pn2" }),
];
const f = (over: Partial<ListFilter>): ListFilter => ({ view: "all", number: null, status: null, unreadOnly: false, tag: null, ...over });
const ids = (cs: Conversation[]) => cs.map((c) => c.id);

describe("list filters", () => {
  it("views: mine, unassigned, all", () => {
    expect(ids(filterConversations(list, f({ view: "mine" }), ME))).toEqual([1, 4]);
    expect(ids(filterConversations(list, f({ view: "unassigned" }), ME))).toEqual([2, 5]);
    expect(ids(filterConversations(list, f({ view: "all" }), ME))).toEqual([1, 2, 3, 4, 5]);
  });
  it("by number, status and unread, combined with the view", () => {
    expect(ids(filterConversations(list, f({ number: "pn2" }), ME))).toEqual([5]);
    expect(ids(filterConversations(list, f({ status: "resolved" }), ME))).toEqual([4]);
    expect(ids(filterConversations(list, f({ view: "mine", status: "open" }), ME))).toEqual([1]);
    expect(ids(filterConversations(list, f({ unreadOnly: true }), ME))).toEqual([1, 2]);
  });
  it("nobody signed in sees nothing as mine", () => {
    expect(filterConversations(list, f({ view: "mine" }), null)).toEqual([]);
  });
  it("unread counts per view honour the other filters", () => {
    expect(unreadByView(list, f({}), ME)).toEqual({ mine: 1, unassigned: 1, all: 2 });
    expect(unreadByView(list, f({ number: "pn2" }), ME)).toEqual({ mine: 0, unassigned: 0, all: 0 });
  });
  it("upsert replaces, removes and keeps newest first", () => {
    const out = upsert(list, [conv(3, { last_message_at: 1000 })], [5]);
    expect(ids(out)).toEqual([3, 4, 2, 1]);
  });
  it("keyboard selection stays in range", () => {
    expect(moveSelection(-1, 1, 3)).toBe(0);
    expect(moveSelection(-1, -1, 3)).toBe(2);
    expect(moveSelection(2, 1, 3)).toBe(2);
    expect(moveSelection(0, -1, 3)).toBe(0);
    expect(moveSelection(0, 1, 0)).toBe(-1);
  });
});

describe("24-hour window", () => {
  const now = 1_800_000_000_000;
  it("never opened", () => {
    expect(windowState(null, now)).toEqual({ phase: "none", left: 0 });
    expect(canSendFreeText(windowState(null, now))).toBe(false);
  });
  it("open, then warning in the last hour, then closed", () => {
    expect(windowState(now, now)).toEqual({ phase: "open", left: WINDOW_MS });
    expect(windowState(now - WINDOW_MS + 3600_000 + 1, now).phase).toBe("open");
    expect(windowState(now - WINDOW_MS + 3600_000, now).phase).toBe("closing");
    expect(canSendFreeText(windowState(now - WINDOW_MS + 1, now))).toBe(true);
    expect(windowState(now - WINDOW_MS, now)).toEqual({ phase: "closed", left: 0 });
    expect(canSendFreeText(windowState(now - WINDOW_MS - 5, now))).toBe(false);
  });
  it("countdown format", () => {
    expect(formatCountdown(WINDOW_MS)).toBe("24:00:00");
    expect(formatCountdown(3_723_000)).toBe("1:02:03");
    expect(formatCountdown(999)).toBe("0:00:00");
    expect(formatCountdown(-5)).toBe("0:00:00");
  });
});

describe("delivery ticks", () => {
  const msg = (over: Partial<Message>): Message => ({
    kind: "message", id: 1, conversation_id: 1, direction: "outbound", type: "text", text: "hi",
    content: {}, status: "sent", error: null, reply_to: null, created_at: 0, ...over,
  });
  const pending = (over: Partial<Pending>): Pending => ({
    kind: "pending", local_id: 1, client_id: "c1", conversation_id: 1, text: "hi", created_at: 0,
    state: "pending", error_code: null, error_message: null, ...over,
  });
  it("outbox rows are queued with a clock, or failed with the relay's sentence and a retry", () => {
    expect(tickInfo(pending({}))).toEqual({ status: "queued", pending: true, reason: null, retryable: false });
    expect(tickGlyph(tickInfo(pending({}))!)).toBe("\u25F7");
    const f = tickInfo(pending({ state: "failed", error_code: "window_closed", error_message: "The 24-hour window is closed" }))!;
    expect(f).toEqual({ status: "failed", pending: true, reason: "The 24-hour window is closed", retryable: true });
  });
  it("relay states: queued, sent, delivered, read, played (blue ticks too), failed with Meta's reason", () => {
    expect(tickInfo(msg({ status: "queued" }))!.status).toBe("queued");
    expect(tickInfo(msg({ status: "sent" }))!.status).toBe("sent");
    expect(tickInfo(msg({ status: "delivered" }))!.status).toBe("delivered");
    expect(tickInfo(msg({ status: "read" }))!.status).toBe("read");
    expect(tickInfo(msg({ status: "played" }))!.status).toBe("played");
    expect(tickGlyph(tickInfo(msg({ status: "played" }))!)).toBe(tickGlyph(tickInfo(msg({ status: "read" }))!));
    expect(tickInfo(msg({ status: "failed" }))!.retryable).toBe(true);
    expect(tickInfo(msg({ status: "failed", origin: "phone_app" }))!.retryable).toBe(false);
    expect(tickInfo(msg({ status: "failed", origin: "history" }))!.retryable).toBe(false);
    const failed = tickInfo(msg({ status: "failed", error: { code: 131026, title: "Undeliverable", reason: "The number is not on WhatsApp.", details: null } }))!;
    expect(failed).toEqual({ status: "failed", pending: false, reason: "The number is not on WhatsApp.", retryable: true });
  });
  it("tick glyphs follow WhatsApp: one tick sent, two delivered/read", () => {
    expect(tickGlyph(tickInfo(msg({ status: "sent" }))!)).toBe("\u2713");
    expect(tickGlyph(tickInfo(msg({ status: "delivered" }))!)).toBe("\u2713\u2713");
    expect(tickGlyph(tickInfo(msg({ status: "read" }))!)).toBe("\u2713\u2713");
    expect(tickGlyph(tickInfo(msg({ status: "failed" }))!)).toBe("!");
  });
  it("inbound messages carry no ticks", () => {
    expect(tickInfo(msg({ direction: "inbound", status: null }))).toBeNull();
  });
});

describe("search highlights", () => {
  it("splits the engine's markers into hit segments", () => {
    expect(splitHits("wo ist \u0002Preis\u0003 für \u0002Preise\u0003?")).toEqual([
      { text: "wo ist ", hit: false },
      { text: "Preis", hit: true },
      { text: " für ", hit: false },
      { text: "Preise", hit: true },
      { text: "?", hit: false },
    ]);
    expect(splitHits("plain")).toEqual([{ text: "plain", hit: false }]);
  });
});

describe("tag filter", () => {
  const tagged = [
    conv(1, { contact: { id: 1, wa_id: "491", bsuid: null, username: null, name: "A", tags: ["vip", "b2b"] } }),
    conv(2, { contact: { id: 2, wa_id: "492", bsuid: null, username: null, name: "B", tags: ["vip"] } }),
    conv(3, { contact: { id: 3, wa_id: "493", bsuid: null, username: null, name: "C" } }),
  ];
  it("keeps only customers with the tag", () => {
    expect(filterConversations(tagged, f({ tag: "vip" }), ME).map((c) => c.id)).toEqual([1, 2]);
    expect(filterConversations(tagged, f({ tag: "b2b" }), ME).map((c) => c.id)).toEqual([1]);
    expect(filterConversations(tagged, f({ tag: null }), ME).map((c) => c.id)).toEqual([1, 2, 3]);
    expect(filterConversations(tagged, f({ tag: "nope" }), ME)).toEqual([]);
  });
  it("offers the tags present, most used first", () => {
    expect(tagsOf(tagged)).toEqual(["vip", "b2b"]);
    expect(tagsOf([])).toEqual([]);
  });
  it("normalizes what is typed", () => {
    expect(normalizeTag("  VIP ")).toBe("vip");
    expect(normalizeTag("key account")).toBe("key-account");
    expect(normalizeTag("   ")).toBeNull();
    expect(withTag(["vip"], "VIP")).toEqual(["vip"]);
    expect(withTag(["vip"], "b2b")).toEqual(["vip", "b2b"]);
    expect(withTag(["vip"], " ")).toEqual(["vip"]);
    expect(withoutTag(["vip", "b2b"], "vip")).toEqual(["b2b"]);
  });
});

describe("reactions", () => {
  let nextId = 100;
  const msg = (over: Partial<Message>): Message => ({
    kind: "message",
    id: nextId++,
    conversation_id: 1,
    direction: "inbound",
    wamid: null,
    type: "text",
    text: "",
    content: {},
    status: null,
    error: null,
    reply_to: null,
    created_at: nextId,
    ...over,
  });
  const react = (target: string, emoji: string | null, direction: "inbound" | "outbound" = "inbound") =>
    msg({ type: "reaction", direction, text: emoji ?? "", content: { type: "reaction", message_id: target, emoji } });

  it("attaches a reaction to its message and hides the bubble", () => {
    const out = msg({ direction: "outbound", wamid: "wamid.A", text: "Your order shipped", status: "read" });
    const r = react("wamid.A", "👍");
    const g = groupReactions([out, r]);
    expect(g.items).toEqual([out]);
    expect(g.reactions.get(out.id)).toEqual([{ emoji: "👍", from: "customer" }]);
  });

  it("keeps only the latest reaction of each side; a removal clears it", () => {
    const a = msg({ wamid: "wamid.B", text: "hi" });
    const items: TimelineItem[] = [a, react("wamid.B", "👍"), react("wamid.B", "❤️"), react("wamid.B", "😂", "outbound")];
    expect(groupReactions(items).reactions.get(a.id)).toEqual([
      { emoji: "❤️", from: "customer" },
      { emoji: "😂", from: "business" },
    ]);
    const removed = groupReactions([...items, react("wamid.B", null)]);
    expect(removed.items).toEqual([a]);
    expect(removed.reactions.get(a.id)).toEqual([{ emoji: "😂", from: "business" }]);
  });

  it("shows a reaction to a message not loaded as its own bubble, latest only", () => {
    const r1 = react("wamid.OLD", "👍");
    const r2 = react("wamid.OLD", "🙏");
    const g = groupReactions([r1, r2]);
    expect(g.items).toEqual([r2]);
    expect(g.reactions.size).toBe(0);
    // Removed, and the target is not here: nothing to show.
    expect(groupReactions([r1, react("wamid.OLD", null)]).items).toEqual([]);
  });

  it("reads the fixture's content shape and leaves other messages alone", () => {
    const target = msg({ wamid: "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBQwMDAwQTFCMkMzRDRFNUY2MDA2QQA=", text: "hello" });
    const r = msg({ type: "reaction", content: { type: "reaction", message_id: target.wamid, emoji: "\ud83d\udc4d" } });
    const text = msg({ text: "more" });
    const g = groupReactions([target, r, text]);
    expect(g.items).toEqual([target, text]);
    expect(g.reactions.get(target.id)).toEqual([{ emoji: "👍", from: "customer" }]);
  });
});

describe("conversation actions", () => {
  const me: User = { id: ME, email: "a@x", name: "A", role: "agent", permissions: [] };
  const lead: User = { ...me, role: "Team Lead", permissions: ["see_all_conversations", "reassign"] };
  const reader: User = { ...me, role: "Quality", permissions: ["see_all_conversations"] };
  it("offers assign to me, transfer and resolve on open ones, reopen on resolved ones", () => {
    expect(actionsFor(conv(1), me)).toEqual(["assignToMe", "transfer", "resolve"]);
    expect(actionsFor(conv(1, { assignee_id: ME }), me)).toEqual(["transfer", "resolve"]);
    expect(actionsFor(conv(1, { assignee_id: 99 }), lead)).toEqual(["assignToMe", "transfer", "resolve"]);
    expect(actionsFor(conv(1, { status: "resolved" }), me)).toEqual(["reopen"]);
  });
  it("offers a colleague's conversation for taking or handing on only with reassign", () => {
    expect(actionsFor(conv(1, { assignee_id: 99 }), reader)).toEqual(["resolve"]);
    expect(actionsFor(conv(1, { assignee_id: null }), reader)).toEqual(["assignToMe", "transfer", "resolve"]);
  });
  it("knows who still sees a conversation after a transfer, by permission not role name", () => {
    expect(visibleTo(conv(1, { assignee_id: ME }), me)).toBe(true);
    expect(visibleTo(conv(1, { assignee_id: null }), me)).toBe(true);
    expect(visibleTo(conv(1, { assignee_id: 99 }), me)).toBe(false);
    expect(visibleTo(conv(1, { assignee_id: 99 }), { ...me, role: "supervisor" })).toBe(false);
    expect(visibleTo(conv(1, { assignee_id: 99 }), reader)).toBe(true);
    expect(can(lead, "reassign") && !can(reader, "reassign") && !can(me, "monitor")).toBe(true);
  });
  it("knows the relay's error codes", () => {
    expect(errorKind("conflict")).toBe("conflict");
    expect(errorKind("offline")).toBe("offline");
    expect(errorKind("weird")).toBe("other");
  });
});

describe("monitor", () => {
  const agent = (id: number, name: string): MonitorAgent => ({
    id, name, email: "", role: "agent", user_id: id, status: "online", presence: "online", connections: 1, open: 0, capacity: 5,
    teams: [], skills: [], first_response: { count: 0, avg_s: null, median_s: null, p90_s: null }, resolved_last_hour: 0, overdue: 0,
  });
  it("keeps rows in a stable order", () => {
    expect(sortAgents([agent(3, "Carla"), agent(1, "Anna"), agent(2, "Anna")]).map((a) => a.id)).toEqual([1, 2, 3]);
  });
  it("grades load", () => {
    expect(loadLevel(0, 5)).toBe("idle");
    expect(loadLevel(2, 5)).toBe("ok");
    expect(loadLevel(4, 5)).toBe("busy");
    expect(loadLevel(5, 5)).toBe("over");
    expect(loadLevel(1, 0)).toBe("over");
  });
  it("formats durations", () => {
    expect(formatDuration(null, "en")).toBe("—");
    expect(formatDuration(42.4, "en")).toBe("42 s");
    expect(formatDuration(185, "de")).toBe("3 min");
    expect(formatDuration(3900, "en")).toBe("1 h 05 min");
  });
  it("throttles re-fetches", () => {
    expect(nextFetchDelay(0, 10_000, 2000)).toBe(0);
    expect(nextFetchDelay(9_000, 10_000, 2000)).toBe(1000);
  });
});

describe("templateReady", () => {
  it("needs every header and body parameter, blanks do not count", () => {
    const tpl = { body_params: 2, header_params: 1 };
    expect(templateReady(tpl, ["A-123"], ["Erika", "Montag"])).toBe(true);
    expect(templateReady(tpl, [], ["Erika", "Montag"])).toBe(false);
    expect(templateReady(tpl, ["  "], ["Erika", "Montag"])).toBe(false);
    expect(templateReady(tpl, ["A-123"], ["Erika"])).toBe(false);
    expect(templateReady(tpl, ["A-123"], ["", "Montag"])).toBe(false);
  });
  it("a template without placeholders is ready at once", () => {
    expect(templateReady({ body_params: 0 }, [], [])).toBe(true);
  });
});

describe("attachmentType", () => {
  it("keeps a type WhatsApp sends, falls back to the extension, refuses the rest", () => {
    expect(attachmentType("beleg.png", "image/png")).toBe("image/png");
    expect(attachmentType("Rechnung.PDF", "")).toBe("application/pdf");
    expect(attachmentType("foto.jpeg", "application/octet-stream")).toBe("image/jpeg");
    expect(attachmentType("setup.exe", "application/x-msdownload")).toBeNull();
    expect(attachmentType("ohne-endung", "")).toBeNull();
  });
});

describe("saved documents", () => {
  it("names the file and its folder on Linux, macOS and Windows", () => {
    expect(savedPlace("/home/eva/Downloads/rechnung (1).pdf")).toEqual({ file: "rechnung (1).pdf", folder: "Downloads" });
    expect(savedPlace("C:\\Users\\Eva\\Downloads\\Angebot.docx")).toEqual({ file: "Angebot.docx", folder: "Downloads" });
    expect(savedPlace("/Users/eva/Downloads/")).toEqual({ file: "Downloads", folder: "eva" });
    expect(savedPlace("file.pdf")).toEqual({ file: "file.pdf", folder: "" });
  });
});

describe("numbers by name", () => {
  const numbers = [
    { phone_number_id: "200000000000002", display_phone_number: "15550001111", name: "Support", configured: true },
    { phone_number_id: "200000000000003", display_phone_number: "+4930123456", name: " ", configured: true },
  ];
  it("names a number by its name, else its phone number, else Meta's id", () => {
    expect(numberLabel("200000000000002", numbers)).toBe("Support");
    expect(numberLabel("200000000000003", numbers)).toBe("+4930123456");
    expect(numberLabel("999", numbers)).toBe("999");
  });
  it("offers every number by label, also those only conversations know", () => {
    const choices = numberChoices([conv(1, { phone_number_id: "999" })], numbers);
    expect(choices).toEqual([
      { id: "200000000000003", label: "+4930123456" },
      { id: "999", label: "999" },
      { id: "200000000000002", label: "Support" },
    ]);
  });
});

describe("blocked messages", () => {
  const block = (id: number, created_at: number, over: Partial<Block> = {}): Block => ({
    id, conversation_id: 1, user_id: 2, origin: "agent", request: { type: "text", text: `text ${id}` }, code: "sensitive_word",
    matched: "gratis", created_at, allowed_by: null, allowed_at: null, message_id: null, rejected_by: null, rejected_at: null, ...over,
  });
  it("knows each one's state and puts the waiting ones first, longest waiting on top", () => {
    const list = [block(1, 10, { allowed_by: 3 }), block(2, 20), block(3, 30, { rejected_by: 3 }), block(4, 15)];
    expect(list.map(blockState)).toEqual(["released", "pending", "rejected", "pending"]);
    expect(sortBlocks(list).map((b) => b.id)).toEqual([4, 2, 3, 1]);
  });
  it("shows the text, a caption, or the kind", () => {
    expect(blockText(block(1, 1))).toBe("text 1");
    expect(blockText(block(1, 1, { request: { type: "image", caption: "Foto" } }))).toBe("Foto");
    expect(blockText(block(1, 1, { request: { type: "template" } }))).toBe("[template]");
  });
});

describe("marketing preference", () => {
  it("says whether the customer stopped marketing messages", () => {
    expect(marketingState(null)).toEqual({ key: "marketingNone", stopped: false });
    expect(marketingState({ choice: "stop", at: 1 })).toEqual({ key: "marketingStopped", stopped: true });
    expect(marketingState({ choice: "resume", at: 2 })).toEqual({ key: "marketingResumed", stopped: false });
  });
});

describe("coexistence marks", () => {
  it("labels the phone app and the history, and says who deleted", () => {
    expect(originLabel({ origin: "phone_app" })).toBe("viaPhoneApp");
    expect(originLabel({ origin: "history" })).toBe("fromHistory");
    expect(originLabel({ origin: "agent" })).toBeNull();
    expect(originLabel({})).toBeNull();
    expect(deletedNoteKey({ direction: "outbound" })).toBe("deletedOnPhone");
    expect(deletedNoteKey({ direction: "inbound" })).toBe("deletedByCustomer");
  });
});
