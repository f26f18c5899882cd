// The one module through which the UI reaches the backend (Tauri commands and events).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { AuditQuery } from "./adminForms";
import type {
  Account,
  AppInfo,
  AuditEntry,
  AutoReply,
  AutoReplyBody,
  AutoReplyVerdict,
  Block,
  ArchiveSummary,
  Erased,
  LegalHold,
  Retention,
  BusinessAccount,
  HistoryImport,
  MetaApp,
  Change,
  AgentStatus,
  AgentReport,
  AgentRouting,
  Alerts,
  BusinessHours,
  Conversation,
  Directory,
  Monitor,
  Note,
  NumberPolicy,
  NumberRate,
  Pending,
  Permission,
  PermissionInfo,
  PhoneNumber,
  Presence,
  QueuedConversation,
  RateSettings,
  RoleInfo,
  RoutingSettings,
  SearchHit,
  SyncResult,
  TeamInfo,
  Template,
  TimelineItem,
  UiError,
  User,
} from "./types";

export interface ListQuery {
  view: "mine" | "unassigned" | "all";
  status?: string | null;
  phone_number_id?: string | null;
  tag?: string | null;
  unread_only?: boolean;
  limit?: number;
}

/** Every failure arrives as `{code, message}`; anything else is wrapped into that shape. */
export function asUiError(e: unknown): UiError {
  if (e && typeof e === "object" && "code" in e && "message" in e) return e as UiError;
  return { code: "internal", message: String(e) };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw asUiError(e);
  }
}

export const api = {
  appInfo: () => call<AppInfo>("app_info"),
  signIn: (relayUrl: string, email: string, password: string) =>
    call<User>("sign_in", { relayUrl, email, password }),
  signOut: (wipe: boolean) => call<void>("sign_out", { wipe }),
  conversations: (filter: ListQuery) => call<Conversation[]>("conversations", { filter }),
  conversation: (id: number) => call<Conversation>("conversation", { id }),
  timeline: (conversationId: number, before: number | null, limit: number) =>
    call<TimelineItem[]>("timeline", { conversationId, before, limit }),
  search: (query: string, limit = 50) => call<SearchHit[]>("search", { query, limit }),
  sendText: (conversationId: number, text: string, replyTo: number | null) =>
    call<Pending>("send_text", { conversationId, text, replyTo }),
  /** Uploads a file (base64) and sends it as an image or document; needs the relay. */
  sendAttachment: (conversationId: number, filename: string, mime: string, data: string, caption: string | null, replyTo: number | null) =>
    call<Pending>("send_attachment", { conversationId, filename, mime, data, caption, replyTo }),
  sendTemplate: (conversationId: number, name: string, language: string, parameters: string[], headerParameters: string[] = []) =>
    call<Pending>("send_template", { conversationId, name, language, parameters, headerParameters }),
  retry: (clientId: string) => call<void>("retry", { clientId }),
  discard: (clientId: string) => call<void>("discard", { clientId }),
  markRead: (conversationId: number) => call<void>("mark_read", { conversationId }),
  templates: (phoneNumberId: string) => call<Template[]>("templates", { phoneNumberId }),
  media: (messageId: number) => call<string>("media", { messageId }),
  /** Saves a message's file into the Downloads folder; answers the path written. */
  saveMedia: (messageId: number, filename: string) => call<string>("save_media", { messageId, filename }),
  setMuted: (muted: boolean) => call<void>("set_muted", { muted }),
  /** Benchmarks only: granted when the app runs with SWITCHBOARD_BENCH_READY (scripts/bench-desktop.sh). */
  benchReady: (rows: number) => call<void>("bench_ready", { rows }),
  directory: () => call<Directory>("directory"),
  /** Assign to me (agentId = own id), transfer to a colleague (agentId) or a team (teamId). */
  assign: (conversationId: number, target: { agentId?: number | null; teamId?: number | null }, force = false) =>
    call<Conversation>("assign", { conversationId, agentId: target.agentId ?? null, teamId: target.teamId ?? null, force }),
  resolve: (conversationId: number) => call<Conversation>("resolve", { conversationId }),
  reopen: (conversationId: number) => call<Conversation>("reopen", { conversationId }),
  monitor: () => call<Monitor>("monitor"),
  /** The relay's business numbers, with their names. */
  numbers: () => call<PhoneNumber[]>("numbers"),
  setStatus: (status: AgentStatus) => call<unknown>("set_status", { status }),
  setIdleMinutes: (minutes: number) => call<void>("set_idle_minutes", { minutes }),
  /** Every tag in the cache with its conversation count, most used first. */
  tags: () => call<[string, number][]>("tags"),
  setTags: (contactId: number, tags: string[]) => call<string[]>("set_tags", { contactId, tags }),
  notes: (contactId: number) => call<Note[]>("notes", { contactId }),
  addNote: (contactId: number, text: string) => call<Note>("add_note", { contactId, text }),
  // The admin console (the relay checks the permission `manage_users`).
  adminUsers: () => call<Account[]>("admin_users"),
  adminCreateUser: (user: { email: string; name: string; role: string; password: string }) => call<User>("admin_create_user", { user }),
  adminUpdateUser: (id: number, patch: { name?: string; role?: string; active?: boolean }) => call<Account>("admin_update_user", { id, patch }),
  adminResetPassword: (id: number, password: string) => call<void>("admin_reset_password", { id, password }),
  adminPermissions: () => call<PermissionInfo[]>("admin_permissions"),
  adminRoles: () => call<RoleInfo[]>("admin_roles"),
  adminCreateRole: (role: { name: string; permissions: Permission[] }) => call<RoleInfo>("admin_create_role", { role }),
  adminUpdateRole: (id: number, patch: { name?: string; permissions?: Permission[] }) => call<RoleInfo>("admin_update_role", { id, patch }),
  adminDeleteRole: (id: number) => call<void>("admin_delete_role", { id }),
  adminAddNumber: (number: { phone_number_id: string; display_phone_number: string; name: string; waba_id: string | null }) =>
    call<PhoneNumber>("admin_add_number", { number }),
  // Credentials per business account (`manage_numbers`); tokens and secrets go to the relay only.
  adminBusinessAccounts: () => call<BusinessAccount[]>("admin_business_accounts"),
  adminUpdateBusinessAccount: (wabaId: string, update: { name: string | null; app_id: string | null; access_token?: string }) =>
    call<BusinessAccount>("admin_update_business_account", { wabaId, update }),
  adminMetaApps: () => call<MetaApp[]>("admin_meta_apps"),
  adminHistoryImports: () => call<HistoryImport[]>("admin_history_imports"),
  adminMediaArchive: () => call<ArchiveSummary>("admin_media_archive"),
  adminSetMetaAppSecret: (appId: string, secret: string) => call<void>("admin_set_meta_app_secret", { appId, secret }),
  adminAutoReplies: () => call<AutoReply[]>("admin_auto_replies"),
  adminCreateAutoReply: (rule: AutoReplyBody) => call<AutoReply>("admin_create_auto_reply", { rule }),
  adminUpdateAutoReply: (id: number, rule: AutoReplyBody) => call<AutoReply>("admin_update_auto_reply", { id, rule }),
  adminTestAutoReply: (phoneNumberId: string, text: string) => call<AutoReplyVerdict>("admin_test_auto_reply", { test: { phone_number_id: phoneNumberId, text } }),
  adminDeleteAutoReply: (id: number) => call<void>("admin_delete_auto_reply", { id }),
  adminWords: () => call<{ entries: string[]; languages?: Record<string, string[]> }>("admin_words"),
  /** Replaces the list for every language and, when `languages` is given, every per-language list. */
  adminSetWords: (entries: string[], languages?: Record<string, string[]>) =>
    call<{ entries: string[]; languages?: Record<string, string[]> }>("admin_set_words", { words: languages ? { entries, languages } : { entries } }),
  adminCheckWords: (text: string, language?: string) =>
    call<{ blocked: boolean; matched: string | null; language: string | null }>("admin_check_words", { check: language ? { text, language } : { text } }),
  reviewBlocks: () => call<Block[]>("review_blocks"),
  reviewAllow: (id: number) => call<unknown>("review_allow", { id }),
  reviewReject: (id: number) => call<Block>("review_reject", { id }),
  adminAudit: (query: AuditQuery) => call<AuditEntry[]>("admin_audit", { query }),
  /** The filtered audit log as CSV into the Downloads folder; answers the path written. */
  adminAuditExport: (query: AuditQuery) => call<string>("admin_audit_export", { query }),
  /** One customer's data as JSON Lines into Downloads (permission `export`); answers the path. */
  exportContact: (contactId: number) => call<string>("export_contact", { contactId }),
  /** Everything as JSON Lines into Downloads (permission `export`); answers the path. */
  exportAll: () => call<string>("export_all"),
  // Data governance (`manage_data`): retention per number, legal holds, erasure.
  retention: () => call<Retention[]>("governance_retention"),
  setRetention: (phoneNumberId: string, days: number | null) => call<Retention>("governance_set_retention", { phoneNumberId, days }),
  legalHolds: () => call<LegalHold[]>("governance_holds"),
  setLegalHold: (on: { contactId?: number; conversationId?: number }, reason: string) =>
    call<LegalHold>("governance_hold", { contactId: on.contactId ?? null, conversationId: on.conversationId ?? null, reason }),
  releaseLegalHold: (on: { contactId?: number; conversationId?: number }) =>
    call<void>("governance_release", { contactId: on.contactId ?? null, conversationId: on.conversationId ?? null }),
  eraseContact: (contactId: number) => call<Erased>("governance_erase", { contactId }),
  // Supervisor tools (permission `monitor`) and escalation alerts (local cache).
  waitingQueue: () => call<QueuedConversation[]>("waiting_queue"),
  agentReport: (id: number, days: number) => call<AgentReport>("agent_report", { id, days }),
  alerts: () => call<Alerts>("alerts"),
  markAlertsSeen: (upTo: number) => call<number>("mark_alerts_seen", { upTo }),
  // Routing administration (permission `manage_routing`; numbers: `manage_numbers`).
  routingSettings: () => call<RoutingSettings>("routing_settings"),
  putRoutingSettings: (settings: RoutingSettings) => call<RoutingSettings>("put_routing_settings", { settings }),
  skills: () => call<{ skills: string[] }>("skills"),
  putSkills: (skills: string[]) => call<{ skills: string[] }>("put_skills", { skills: { skills } }),
  teams: () => call<TeamInfo[]>("teams"),
  createTeam: (team: { name: string; members: number[]; requeue_on_offline?: boolean }) => call<TeamInfo>("create_team", { team }),
  putTeam: (id: number, team: { name: string; members: number[]; requeue_on_offline?: boolean }) => call<TeamInfo>("put_team", { id, team }),
  deleteTeam: (id: number) => call<void>("delete_team", { id }),
  agentRouting: (id: number) => call<AgentRouting>("agent_routing", { id }),
  putAgentRouting: (id: number, settings: AgentRouting) => call<AgentRouting>("put_agent_routing", { id, settings }),
  numberPolicy: (pnid: string) => call<NumberPolicy>("number_policy", { pnid }),
  putNumberPolicy: (pnid: string, policy: NumberPolicy) => call<NumberPolicy>("put_number_policy", { pnid, policy }),
  businessHours: (pnid: string) => call<BusinessHours | null>("business_hours", { pnid }),
  putBusinessHours: (pnid: string, hours: BusinessHours) => call<BusinessHours>("put_business_hours", { pnid, hours }),
  deleteBusinessHours: (pnid: string) => call<void>("delete_business_hours", { pnid }),
  rateLimit: (pnid: string) => call<NumberRate>("rate_limit", { pnid }),
  putRateLimit: (pnid: string, rate: RateSettings) => call<RateSettings>("put_rate_limit", { pnid, rate }),
  syncTemplates: () => call<SyncResult[]>("sync_templates"),
  onPresence: (f: (p: Presence) => void): Promise<UnlistenFn> => listen<Presence>("presence", (e) => f(e.payload)),
  /** A click on a desktop notification (where the notification server reports clicks). */
  onOpenConversation: (f: (conversationId: number) => void): Promise<UnlistenFn> =>
    listen<{ conversation_id: number }>("open-conversation", (e) => f(e.payload.conversation_id)),
  onChange: (f: (c: Change) => void): Promise<UnlistenFn> =>
    listen<Change>("change", (e) => f(e.payload)),
  onNotified: (f: (conversationId: number) => void): Promise<UnlistenFn> =>
    listen<{ conversation_id: number }>("notified", (e) => f(e.payload.conversation_id)),
};
