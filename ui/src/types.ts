// Shapes the backend sends (serde of switchboard-protocol and switchboard-sync types).

export type ConnectionState = "offline" | "connecting" | "online" | "auth_expired" | "deactivated";
/** A role's name: "agent", "supervisor", "admin" or one an admin defined. */
export type Role = string;
export type Permission =
  | "see_all_conversations"
  | "reassign"
  | "monitor"
  | "review_blocked"
  | "manage_users"
  | "manage_numbers"
  | "manage_routing"
  | "manage_automations"
  | "view_audit"
  | "export"
  | "broadcast"
  | "manage_data";

export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  /** What the role allows; the relay checks the same list on every request. */
  permissions: Permission[];
}

/** A user as admins manage them. */
export interface Account {
  id: number;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  created_at: number;
  sessions: number;
}

export interface RoleInfo {
  id: number;
  name: string;
  permissions: Permission[];
  builtin: boolean;
  users: number;
}

/** An outbound message the sensitive-word filter refused, for review. */
export interface Block {
  id: number;
  conversation_id: number;
  /** The agent who wrote it; null for automatic replies. */
  user_id: number | null;
  origin: string;
  /** The send request as written (`{type: "text", text}` and so on). */
  request: { type?: string; text?: string; caption?: string } & Record<string, unknown>;
  code: string;
  matched: string;
  created_at: number;
  allowed_by: number | null;
  allowed_at: number | null;
  message_id: number | null;
  rejected_by: number | null;
  rejected_at: number | null;
}

/** A keyword auto-reply rule. */
export interface AutoReply {
  id: number;
  phone_number_id: string;
  name: string;
  keywords: string[];
  match: "any" | "all" | "exact" | "regex";
  whole_word: boolean;
  reply: { text?: string } & Record<string, unknown>;
  priority: number;
  cooldown_seconds: number;
  handoff: boolean;
  paused?: boolean;
  created_by: string;
  created_at: number;
  updated_by?: string;
  updated_at?: number;
}

/** What the relay sends and takes for a rule (`POST` / `PUT /api/v1/admin/auto-replies`). */
export type AutoReplyBody = Omit<AutoReply, "id" | "created_by" | "created_at" | "updated_by" | "updated_at">;

export interface AutoReplyVerdict {
  matched: { id: number; name: string }[];
  reply: ({ text?: string } & Record<string, unknown>) | null;
  handoff: boolean | null;
}

/** A business number (an inbox). */
export interface PhoneNumber {
  phone_number_id: string;
  display_phone_number: string;
  name: string;
  configured: boolean;
}

export interface AuditEntry {
  id: number;
  /** An email, or "cli" for the relay's admin command. */
  actor: string;
  action: string;
  details: unknown;
  at: number;
}

export interface PermissionInfo {
  name: Permission;
  description: string;
}

export interface Contact {
  id: number;
  wa_id: string | null;
  bsuid: string | null;
  username: string | null;
  name: string | null;
  /** Lower-case labels; absent from older relays' snapshots. */
  tags?: string[];
  /** The customer's latest choice about marketing messages (`stop` or `resume`), if any. */
  marketing?: { choice: string; at: number } | null;
  /** The name the business saved for them in the WhatsApp Business app (Coexistence). */
  app_name?: string | null;
}

export interface Conversation {
  id: number;
  phone_number_id: string;
  contact: Contact;
  status: string;
  assignee_id: number | null;
  last_inbound_at: number | null;
  last_message_at: number;
  last_message_preview: string;
  unread_count: number;
}

export type DeliveryStatus = "queued" | "sent" | "delivered" | "read" | "played" | "failed";

export interface MessageError {
  code: number;
  title: string;
  reason: string;
  details: string | null;
}

export interface Message {
  kind: "message";
  id: number;
  conversation_id: number;
  direction: "inbound" | "outbound";
  /** Meta's message id (outbound ones once sent); reactions name their target by it. */
  wamid?: string | null;
  type: string;
  text: string;
  content: any;
  status: DeliveryStatus | null;
  error: MessageError | null;
  reply_to: number | null;
  created_at: number;
  /** Set when the customer edited it: `text` and `content` are the latest version. */
  edited_at?: number | null;
  /** The versions it replaced, oldest first. */
  edits?: { text: string; content: unknown; replaced_at: number }[];
  /** Set when the customer deleted it for everyone (the team still reads it). */
  deleted_at?: number | null;
  /** Where it came from: `agent`, `auto_reply`, `away`, `bulk`, `phone_app` (the WhatsApp
   * Business app, Coexistence) or `history` (chat history shared at onboarding). */
  origin?: string | null;
}

export interface Pending {
  kind: "pending";
  local_id: number;
  client_id: string;
  conversation_id: number;
  text: string;
  created_at: number;
  state: "pending" | "failed";
  error_code: string | null;
  error_message: string | null;
}

export type TimelineItem = Message | Pending;

export interface SearchHit {
  conversation_id: number;
  message_id: number | null;
  contact_name: string | null;
  snippet: string;
  at: number;
}

export interface Template {
  name: string;
  language: string;
  category: string;
  status: string;
  body_params: number;
  /** Text header placeholders (0 when the template has no text header with parameters). */
  header_params?: number;
  header?: string;
  body: string;
}

export type Change =
  | { type: "conversations"; ids: number[] }
  | { type: "timeline"; conversation_id: number }
  | { type: "contacts"; ids: number[] }
  | { type: "outbox" }
  | { type: "state"; state: ConnectionState }
  | { type: "user"; user: User }
  | { type: "resync" }
  | { type: "alerts" };

export interface UiError {
  code: string;
  message: string;
}

export interface AppInfo {
  user: User | null;
  relay_url: string | null;
  state: ConnectionState;
  muted: boolean;
  presence: Presence;
  keychain_error: UiError | null;
}

export type AgentStatus = "online" | "away" | "offline";

/** The person's chosen status, whether the app set `away` itself (idle or locked), the idle minutes. */
export interface Presence {
  chosen: AgentStatus;
  auto_away: boolean;
  idle_minutes: number;
}

export interface DirectoryAgent {
  id: number;
  name: string;
  role: Role;
  presence: AgentStatus;
}

export interface Directory {
  agents: DirectoryAgent[];
  teams: { id: number; name: string }[];
}

export interface Note {
  id: number;
  contact_id: number;
  author_id: number | null;
  author_name: string;
  text: string;
  created_at: number;
}

export interface Durations {
  count: number;
  avg_s: number | null;
  median_s: number | null;
  p90_s: number | null;
}

export interface MonitorAgent {
  id: number;
  name: string;
  email: string;
  role: Role;
  user_id: number;
  status: AgentStatus;
  presence: AgentStatus;
  connections: number;
  open: number;
  capacity: number;
  teams: number[];
  skills: string[];
  first_response: Durations;
  resolved_last_hour: number;
  overdue: number;
}

export interface MonitorTeam {
  id: number;
  name: string;
  members: number[];
  online: number;
  open: number;
  capacity: number;
  first_response: Durations;
  resolved_last_hour: number;
  overdue: number;
  queue_length: number;
  longest_wait_s: number | null;
}

export interface OverdueConversation {
  conversation_id: number;
  assignee_id: number | null;
  phone_number_id: string;
  waiting_since: number;
  waiting_s: number;
}

export interface Monitor {
  at: number;
  agents: MonitorAgent[];
  teams: MonitorTeam[];
  queue_length: number;
  longest_wait_s: number | null;
  first_response: Durations;
  overdue: OverdueConversation[];
  head: number;
}

// ---------------------------------------------------------------- supervisor tools

export type WaitReason = "nobody_online" | "team_offline" | "missing_skills" | "all_busy" | "next";

export interface QueuedConversation {
  conversation_id: number;
  phone_number_id: string;
  team_id: number | null;
  priority: number;
  queued_at: number;
  waiting_s: number;
  required_skills: string[];
  reason: WaitReason;
}

export interface AgentReport {
  agent_id: number;
  days: number;
  since: number;
  until: number;
  conversations: number;
  resolved: number;
  first_response: Durations;
  resolution: Durations;
}

export interface Alert {
  seq: number;
  kind: "waiting" | "overdue";
  conversation_id: number;
  waiting_since: number;
  at: number;
  applies: boolean;
  seen: boolean;
}

export interface Alerts {
  items: Alert[];
  unseen: number;
}

// ---------------------------------------------------------------- routing administration

export interface RoutingSettings {
  grace_period_s: number;
  alert_after_s: number;
  overdue_after_s: number;
}

export interface TeamInfo {
  id: number;
  name: string;
  members: number[];
  requeue_on_offline: boolean;
}

export interface AgentRouting {
  capacity: number;
  skills: string[];
  teams: number[];
}

export interface SkillRules {
  number: string[];
  languages: Record<string, string[]>;
  tags: Record<string, string[]>;
}

export interface NumberPolicy {
  mode: "least_loaded" | "round_robin";
  team_id: number | null;
  sticky_days: number;
  skills: SkillRules;
  priority_tags: string[];
}

export interface BusinessHours {
  time_zone: string;
  weekly: Record<string, [string, string][]>;
  closed_dates: string[];
  exceptions: { date: string; open: [string, string][] }[];
  away_message: Record<string, string>;
  away_period_minutes: number;
  default_language: string;
  enabled: boolean;
}

export interface RateSettings {
  per_minute: number;
  burst: number;
  pair_interval_ms: number;
  pair_burst: number;
}

export interface NumberRate {
  phone_number_id: string;
  settings: RateSettings;
  effective_per_minute: number;
  paused_until: number | null;
  throttled_total: number;
}

export interface SyncResult {
  waba_id: string;
  templates: number | null;
  error: string | null;
}

/** A WhatsApp Business Account as admins see it: never its token or its app's secret. */
export interface BusinessAccount {
  waba_id: string;
  name: string | null;
  app_id: string | null;
  has_token: boolean;
  numbers: string[];
  updated_at: number | null;
}

export interface MetaApp {
  app_id: string;
  updated_at: number;
}

/** How far a number's shared chat history (Coexistence) has arrived, per phase; phase -1 with an
 * error when the business declined. */
export interface HistoryImport {
  phone_number_id: string;
  phase: number;
  chunk_order: number | null;
  progress: number | null;
  messages: number;
  error: string | null;
  updated_at: number;
}

export interface ArchiveSummary {
  stored: number;
  bytes: number;
  pending: number;
  failed: number;
  evicted: number;
  expired: number;
  max_bytes: number;
  retention_days: number | null;
}

/** `GET /api/v1/admin/retention`: one business number's retention. */
export interface Retention {
  phone_number_id: string;
  display_phone_number: string;
  name: string;
  /** null: kept for ever. */
  days: number | null;
  /** How far the last purge reached (ms). */
  purged_before: number | null;
  /** What purges took so far (tombstones). */
  purged_conversations: number;
  purged_messages: number;
}

export interface LegalHold {
  id: number;
  contact_id: number | null;
  conversation_id: number | null;
  reason: string;
  set_by: string;
  set_at: number;
}

/** What erasing a customer removed. */
export interface Erased {
  contact_id: number;
  conversations: number;
  messages: number;
  notes: number;
  media_files: number;
  webhook_bodies: number;
}
