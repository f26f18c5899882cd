import { describe, expect, it } from "vitest";
import { accountRefusalField, accountUpdate, formatBytes, historyState, validateAccount, validateApp } from "./accountForms";
import type { HistoryImport } from "./types";
// The relay's rules, as text (Vite's `?raw`).
import rulesSource from "../../crates/protocol/src/rules.rs?raw";
import { auditQuery, languageCodeError, languageLists, pausedBody, ruleBody, ruleForm, parseWordList, parseKeywords, ruleRefusalField, validateRule, numberRefusalField, permissionsDirty, validateNumber, roleNameError, ROLE_NAME, roleRefusalField, togglePermission, userRefusalField, validateUser } from "./adminForms";

describe("user form", () => {
  const ok = { email: "eva@example.com", name: "Eva", role: "agent", password: "lang-genug-2026" };
  it("accepts what the relay accepts", () => {
    expect(validateUser(ok, 8)).toEqual({});
  });
  it("names each field the relay would refuse", () => {
    const e = validateUser({ email: "eva", name: " ", role: "", password: "kurz" }, 8);
    expect(e.email).toEqual({ key: "emailInvalid" });
    expect(e.name).toEqual({ key: "required" });
    expect(e.role).toEqual({ key: "required" });
    expect(e.password).toEqual({ key: "passwordShort", vars: { n: 8 } });
    expect(validateUser({ ...ok, email: "" }, 8).email).toEqual({ key: "required" });
    expect(validateUser({ ...ok, password: "zwölf-zeichen" }, 14).password).toBeDefined();
  });
  it("puts a relay refusal next to its field", () => {
    expect(userRefusalField({ code: "weak_password", message: "this password is too common" })).toBe("password");
    expect(userRefusalField({ code: "conflict", message: "a user with email eva@example.com already exists" })).toBe("email");
    expect(userRefusalField({ code: "invalid", message: "there is no role named Lead" })).toBe("role");
    expect(userRefusalField({ code: "offline", message: "the relay cannot be reached" })).toBe(null);
  });
});

describe("role form", () => {
  it("checks names as the relay does", () => {
    expect(roleNameError("Team Lead")).toBe(null);
    expect(roleNameError("Qualität_2")).toBe(null);
    expect(roleNameError("  ")).toEqual({ key: "required" });
    expect(roleNameError("<b>")).toEqual({ key: "roleNameInvalid" });
    // The relay's published rule: other scripts and symbols are fine, ASCII punctuation other
    // than - and _ and invisible characters are not.
    expect(roleNameError("Qualität ★")).toBe(null);
    expect(roleNameError("a.b")).toEqual({ key: "roleNameInvalid" });
    expect(roleNameError("admin\u200b")).toEqual({ key: "roleNameInvalid" });
  });

  it("checks role names with the very pattern the relay publishes", () => {
    const rust = /pub const ROLE_NAME: &str = r"(.*?)";/.exec(rulesSource);
    expect(rust?.[1]).toBe(ROLE_NAME.source);
    expect(roleNameError("x".repeat(41))).toEqual({ key: "roleNameInvalid" });
  });
  it("knows when permissions changed, whatever the order", () => {
    expect(permissionsDirty(["monitor", "reassign"], ["reassign", "monitor"])).toBe(false);
    expect(permissionsDirty(["monitor"], ["monitor", "reassign"])).toBe(true);
    expect(togglePermission(["reassign"], "monitor", true)).toEqual(["monitor", "reassign"]);
    expect(togglePermission(["monitor", "reassign"], "monitor", false)).toEqual(["reassign"]);
    expect(togglePermission(["monitor"], "monitor", true)).toEqual(["monitor"]);
  });
  it("puts a relay refusal next to its field", () => {
    expect(roleRefusalField({ code: "conflict", message: "a role named Lead exists" })).toBe("name");
    expect(roleRefusalField({ code: "conflict", message: "no active user would be allowed to manage users any more" })).toBe("permissions");
    expect(roleRefusalField({ code: "invalid", message: "admin is a predefined role; its name cannot change" })).toBe("name");
  });
});

describe("audit filter", () => {
  it("asks for whole local days, the end day included", () => {
    const r = auditQuery({ actor: " ada@example.com ", action: "role.", from: "2026-11-01", to: "2026-11-30" });
    expect(r).toEqual({
      query: {
        limit: 100,
        actor: "ada@example.com",
        action: "role.",
        since: new Date(2026, 10, 1).getTime(),
        until: new Date(2026, 11, 1).getTime(),
      },
    });
  });
  it("leaves out what is empty and refuses a period that runs backwards", () => {
    expect(auditQuery({ actor: "", action: " ", from: "", to: "" }, 50)).toEqual({ query: { limit: 50 } });
    expect(auditQuery({ actor: "", action: "", from: "2026-11-30", to: "2026-11-01" })).toEqual({ error: "periodInvalid" });
    expect(auditQuery({ actor: "", action: "", from: "2026-11-30", to: "2026-11-30" })).toHaveProperty("query");
  });
});

describe("number form", () => {
  it("accepts a phone number as people write it and keeps its digits", () => {
    const r = validateNumber({ name: "Vertrieb", display: "+49 (30) 123-456", id: "200000000000009", waba: "" });
    expect(r).toEqual({ errors: {}, phone: "4930123456" });
  });
  it("names each field the relay would refuse, and maps its refusals back", () => {
    const r = validateNumber({ name: " ", display: "0800-FLOWERS", id: "pn-1", waba: "W1" });
    expect(r.errors).toEqual({ name: { key: "required" }, display: { key: "phoneInvalid" }, id: { key: "digitsOnly" }, waba: { key: "digitsOnly" } });
    expect(validateNumber({ name: "x", display: "4930123456", id: "", waba: "" }).errors.id).toEqual({ key: "required" });
    expect(numberRefusalField({ code: "invalid", message: "phone_number_id must be Meta's numeric phone number id" })).toBe("id");
    expect(numberRefusalField({ code: "invalid", message: "display_phone_number must be a phone number of 6 to 15 digits" })).toBe("display");
    expect(numberRefusalField({ code: "offline", message: "the relay cannot be reached" })).toBe(null);
  });
});

describe("auto-reply form", () => {
  it("splits keywords on commas, drops empty ones and repeats, keeps a regex whole", () => {
    expect(parseKeywords(" Öffnungszeiten, geöffnet,, ÖFFNUNGSZEITEN ", "any")).toEqual(["Öffnungszeiten", "geöffnet"]);
    expect(parseKeywords("^(hallo|hi),?$", "regex")).toEqual(["^(hallo|hi),?$"]);
    expect(parseKeywords(" , ", "all")).toEqual([]);
  });
  it("requires name, number, keywords and reply, and maps the relay's refusals", () => {
    const e = validateRule({ name: "", number: "", keywords: ",", match: "any", reply: " ", handoff: true });
    expect(Object.keys(e).sort()).toEqual(["keywords", "name", "number", "reply"]);
    expect(validateRule({ name: "Zeiten", number: "200", keywords: "offen", match: "any", reply: "9-17 Uhr", handoff: true })).toEqual({});
    expect(ruleRefusalField({ code: "invalid", message: "rule Zeiten: invalid regular expression" })).toBe("keywords");
    expect(ruleRefusalField({ code: "sensitive_word", message: "the reply of Werbung contains a sensitive word" })).toBe("reply");
  });
});

describe("word list", () => {
  it("takes one entry per line, trimmed, without empty lines or repeats", () => {
    expect(parseWordList(" gratis\n\nKostenlos \nGRATIS\n zu verschenken ")).toEqual(["gratis", "Kostenlos", "zu verschenken"]);
    expect(parseWordList("")).toEqual([]);
  });
});

describe("editing auto-replies", () => {
  const stored = {
    id: 7,
    phone_number_id: "200000000000002",
    name: "Öffnungszeiten",
    keywords: ["öffnungszeiten", "geöffnet"],
    match: "any" as const,
    whole_word: false,
    reply: { text: "Mo–Fr 9–17 Uhr", media: { kind: "image", id: "m1" } },
    priority: 5,
    cooldown_seconds: 600,
    handoff: true,
    paused: false,
    created_by: "ada@example.com",
    created_at: 1,
  };
  it("keeps what the form does not show", () => {
    const f = { ...ruleForm(stored), reply: "  Mo–Sa 9–18 Uhr " };
    expect(ruleBody(f, stored)).toEqual({
      phone_number_id: "200000000000002",
      name: "Öffnungszeiten",
      keywords: ["öffnungszeiten", "geöffnet"],
      match: "any",
      whole_word: false,
      reply: { text: "Mo–Sa 9–18 Uhr", media: { kind: "image", id: "m1" } },
      priority: 5,
      cooldown_seconds: 600,
      handoff: true,
      paused: false,
    });
  });
  it("a new rule gets the relay's defaults", () => {
    const b = ruleBody({ name: " Preis ", number: "1", keywords: "preis, Preis, kosten", match: "any", reply: "ab 9 €", handoff: false });
    expect(b).toMatchObject({ name: "Preis", keywords: ["preis", "kosten"], whole_word: true, priority: 0, cooldown_seconds: 3600, paused: false, handoff: false });
  });
  it("pausing sends the rule unchanged but paused, without its stored metadata", () => {
    const b = pausedBody({ ...stored, updated_by: "x", updated_at: 2 }, true);
    expect(b.paused).toBe(true);
    expect(b).not.toHaveProperty("id");
    expect(b).not.toHaveProperty("created_by");
    expect(b).not.toHaveProperty("updated_at");
    expect(b.keywords).toEqual(stored.keywords);
  });
});

describe("per-language word lists", () => {
  it("takes ISO codes only, once each", () => {
    expect(languageCodeError("tr", ["de"])).toBeNull();
    expect(languageCodeError("DE", [])).toEqual({ key: "languageCodeInvalid" });
    expect(languageCodeError("deutsch", [])).toEqual({ key: "languageCodeInvalid" });
    expect(languageCodeError("de", ["de"])).toEqual({ key: "languageTaken" });
  });
  it("leaves out languages whose list is empty", () => {
    expect(languageLists({ de: "umsonst\n\nUMSONST", en: "  \n", tr: "bedava" })).toEqual({ de: ["umsonst"], tr: ["bedava"] });
  });
});

describe("business account forms", () => {
  const form = { waba: "100000000000009", name: "Agentur", app: "555", token: "", dropToken: false };
  it("checks ids and credentials as the relay does", () => {
    expect(validateAccount(form)).toEqual({});
    expect(validateAccount({ ...form, waba: "" }).waba).toEqual({ key: "required" });
    expect(validateAccount({ ...form, waba: "12a" }).waba).toEqual({ key: "digitsOnly" });
    expect(validateAccount({ ...form, app: "x" }).app).toEqual({ key: "digitsOnly" });
    expect(validateAccount({ ...form, token: "short" }).token).toEqual({ key: "credentialInvalid" });
    expect(validateAccount({ ...form, token: "has a space in it" }).token).toEqual({ key: "credentialInvalid" });
    expect(validateAccount({ ...form, token: "short", dropToken: true }).token).toBeUndefined();
    expect(validateAccount({ ...form, name: "x".repeat(101) }).name).toEqual({ key: "atMost", vars: { n: 100 } });
    expect(validateApp("555", "s3cret-value")).toEqual({});
    expect(validateApp("", "s3cret-value").app).toEqual({ key: "required" });
    expect(validateApp("555", "").secret).toEqual({ key: "credentialInvalid" });
  });
  it("sends a token only when one was typed, and an empty one to drop it", () => {
    expect(accountUpdate(form)).toEqual({ name: "Agentur", app_id: "555" });
    expect(accountUpdate({ ...form, token: " EAAG-token " })).toEqual({ name: "Agentur", app_id: "555", access_token: "EAAG-token" });
    expect(accountUpdate({ ...form, token: "EAAG-token", dropToken: true }).access_token).toBe("");
    expect(accountUpdate({ ...form, name: " ", app: "" })).toEqual({ name: null, app_id: null });
  });
  it("puts a refusal beside its field, a missing key above the form", () => {
    expect(accountRefusalField({ code: "invalid", message: "access_token must be 8 to 1024 printable characters" })).toBe("token");
    expect(accountRefusalField({ code: "invalid", message: "Meta app 9 is not known: add it with its app secret first" })).toBe("app");
    expect(accountRefusalField({ code: "no_secret_key", message: "SWITCHBOARD_SECRET_KEY is not set" })).toBeNull();
  });
});

describe("the WhatsApp side of a number", () => {
  const h = (over: Partial<HistoryImport>): HistoryImport => ({
    phone_number_id: "1", phase: 0, chunk_order: 1, progress: 40, messages: 10, error: null, updated_at: 0, ...over,
  });
  it("says how far the shared history arrived, or why it did not", () => {
    expect(historyState([], "1")).toEqual({ key: "historyNone", vars: {} });
    expect(historyState([h({}), h({ phase: 1, progress: 70, messages: 5 })], "1")).toEqual({ key: "historyProgress", vars: { progress: 70, messages: 15 } });
    expect(historyState([h({ progress: 100 })], "1").key).toBe("historyDone");
    expect(historyState([h({ phone_number_id: "2", progress: 100 })], "1").key).toBe("historyNone");
    expect(historyState([h({}), h({ phase: -1, progress: null, messages: 0, error: "turned off (2593109)" })], "1")).toEqual({ key: "historyDeclined", vars: { reason: "turned off (2593109)" } });
  });
  it("writes sizes for people", () => {
    expect(formatBytes(512, "en")).toBe("512 B");
    expect(formatBytes(3_200, "en")).toBe("3.2 kB");
    expect(formatBytes(10 * 1024 ** 3, "de")).toBe("10,7 GB");
  });
});
