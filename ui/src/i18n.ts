// German and English. Follows the OS language (navigator.language) unless the user picks one.
// Plurals through Intl.PluralRules, dates through Intl.DateTimeFormat: never by concatenation.

export type Lang = "en" | "de";

const en = {
  relayUrl: "Relay URL",
  relayHint: "The address of your team's Switchboard relay.",
  next: "Next",
  back: "Back",
  email: "Email",
  password: "Password",
  signIn: "Sign in",
  signingIn: "Signing in…",
  signOut: "Sign out",
  wipeCache: "Also delete the messages stored on this computer",
  keychainMissing: "No keychain",
  search: "Search messages and contacts (Ctrl+K)",
  mine: "Mine",
  unassigned: "Unassigned",
  all: "All",
  allNumbers: "All numbers",
  anyStatus: "Any status",
  open: "Open",
  resolved: "Resolved",
  unreadOnly: "Unread only",
  emptyInbox: "No conversations here. New customer messages appear at once.",
  emptySearch: "Nothing found in the messages on this computer.",
  pickConversation: "Pick a conversation on the left (↑ ↓ and Enter).",
  composer: "Write a message (Enter sends, Shift+Enter for a new line)",
  send: "Send",
  replyingTo: "Replying to",
  cancel: "Cancel",
  reply: "Reply",
  retry: "Retry",
  discard: "Discard",
  failed: "Not delivered",
  pending: "Waiting to be sent",
  windowOpen: "Reply window: {time} left",
  windowClosing: "Reply window closes in {time}",
  windowShut: "Reply window closed",
  windowClosed: "The 24-hour window is closed: only an approved template can reach this customer.",
  windowNone: "The customer has not written yet: start with an approved template.",
  templatePicker: "Send a template",
  template: "Template",
  chooseTemplate: "Choose a template…",
  parameter: "Parameter {n}",
  sendTemplate: "Send template",
  noTemplates: "No approved templates for this number.",
  customer: "Customer",
  name: "Name",
  number: "Number",
  status: "Status",
  online: "Online",
  connecting: "Connecting…",
  offline: "Offline: everything cached stays readable, messages are sent when the relay is back.",
  auth_expired: "Your session has expired: sign in again.",
  settings: "Settings",
  mute: "Mute desktop notifications",
  language: "Language",
  system: "System",
  theme: "Theme",
  light: "Light",
  dark: "Dark",
  close: "Close",
  image: "Image",
  loadImage: "Show image",
  document: "Document",
  audio: "Voice message",
  location: "Location",
  reaction: "reacted {emoji}",
  unsupported: "This message type cannot be shown here.",
  you: "You",
};

type Dict = typeof en;
export type Key = keyof Dict;

const de: Dict = {
  relayUrl: "Relay-URL",
  relayHint: "Die Adresse des Switchboard-Relays Ihres Teams.",
  next: "Weiter",
  back: "Zurück",
  email: "E-Mail",
  password: "Passwort",
  signIn: "Anmelden",
  signingIn: "Anmeldung läuft…",
  signOut: "Abmelden",
  wipeCache: "Auch die auf diesem Computer gespeicherten Nachrichten löschen",
  keychainMissing: "Kein Schlüsselbund",
  search: "Nachrichten und Kontakte durchsuchen (Strg+K)",
  mine: "Meine",
  unassigned: "Nicht zugewiesen",
  all: "Alle",
  allNumbers: "Alle Nummern",
  anyStatus: "Jeder Status",
  open: "Offen",
  resolved: "Erledigt",
  unreadOnly: "Nur ungelesene",
  emptyInbox: "Hier sind keine Unterhaltungen. Neue Kundennachrichten erscheinen sofort.",
  emptySearch: "In den Nachrichten auf diesem Computer nichts gefunden.",
  pickConversation: "Wählen Sie links eine Unterhaltung (↑ ↓ und Enter).",
  composer: "Nachricht schreiben (Enter sendet, Umschalt+Enter für eine neue Zeile)",
  send: "Senden",
  replyingTo: "Antwort auf",
  cancel: "Abbrechen",
  reply: "Antworten",
  retry: "Erneut senden",
  discard: "Verwerfen",
  failed: "Nicht zugestellt",
  pending: "Wartet auf Versand",
  windowOpen: "Antwortfenster: noch {time}",
  windowClosing: "Antwortfenster schließt in {time}",
  windowShut: "Antwortfenster geschlossen",
  windowClosed: "Das 24-Stunden-Fenster ist geschlossen: Nur eine freigegebene Vorlage erreicht diese Person.",
  windowNone: "Die Person hat noch nicht geschrieben: Beginnen Sie mit einer freigegebenen Vorlage.",
  templatePicker: "Vorlage senden",
  template: "Vorlage",
  chooseTemplate: "Vorlage wählen…",
  parameter: "Parameter {n}",
  sendTemplate: "Vorlage senden",
  noTemplates: "Keine freigegebenen Vorlagen für diese Nummer.",
  customer: "Kunde",
  name: "Name",
  number: "Nummer",
  status: "Status",
  online: "Online",
  connecting: "Verbinde…",
  offline: "Offline: Alles Gespeicherte bleibt lesbar, Nachrichten gehen raus, sobald das Relay zurück ist.",
  auth_expired: "Ihre Sitzung ist abgelaufen: Bitte neu anmelden.",
  settings: "Einstellungen",
  mute: "Desktop-Benachrichtigungen stummschalten",
  language: "Sprache",
  system: "System",
  theme: "Design",
  light: "Hell",
  dark: "Dunkel",
  close: "Schließen",
  image: "Bild",
  loadImage: "Bild anzeigen",
  document: "Dokument",
  audio: "Sprachnachricht",
  location: "Standort",
  reaction: "hat mit {emoji} reagiert",
  unsupported: "Dieser Nachrichtentyp kann hier nicht angezeigt werden.",
  you: "Sie",
};

export const dicts: Record<Lang, Dict> = { en, de };

export function detectLang(navLang: string | undefined): Lang {
  return (navLang ?? "en").toLowerCase().startsWith("de") ? "de" : "en";
}

export function translate(lang: Lang, key: Key, vars: Record<string, string | number> = {}): string {
  return dicts[lang][key].replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));
}

/** "1 unread" / "3 unread" / "1 ungelesene" ... by the locale's plural rules. */
export function unreadLabel(lang: Lang, n: number): string {
  const rule = new Intl.PluralRules(lang).select(n);
  const forms = lang === "de" ? { one: "ungelesene", other: "ungelesene" } : { one: "unread", other: "unread" };
  const word = rule === "one" ? forms.one : forms.other;
  return `${new Intl.NumberFormat(lang).format(n)} ${word}`;
}

export function formatTime(lang: Lang, ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  return new Intl.DateTimeFormat(lang, sameDay ? { hour: "2-digit", minute: "2-digit" } : { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit" }).format(d);
}
