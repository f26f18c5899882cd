// The one module through which the UI reaches the backend (Tauri commands and events).
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type {
  AppInfo,
  Change,
  Conversation,
  Pending,
  SearchHit,
  Template,
  TimelineItem,
  UiError,
  User,
} from "./types";

export interface ListQuery {
  view: "mine" | "unassigned" | "all";
  status?: string | null;
  phone_number_id?: string | null;
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
  sendTemplate: (conversationId: number, name: string, language: string, parameters: string[]) =>
    call<Pending>("send_template", { conversationId, name, language, parameters }),
  retry: (clientId: string) => call<void>("retry", { clientId }),
  discard: (clientId: string) => call<void>("discard", { clientId }),
  markRead: (conversationId: number) => call<void>("mark_read", { conversationId }),
  templates: (phoneNumberId: string) => call<Template[]>("templates", { phoneNumberId }),
  media: (messageId: number) => call<string>("media", { messageId }),
  setMuted: (muted: boolean) => call<void>("set_muted", { muted }),
  onChange: (f: (c: Change) => void): Promise<UnlistenFn> =>
    listen<Change>("change", (e) => f(e.payload)),
  onNotified: (f: (conversationId: number) => void): Promise<UnlistenFn> =>
    listen<{ conversation_id: number }>("notified", (e) => f(e.payload.conversation_id)),
};
