import { describe, expect, it } from "vitest";
import { choiceOf, eraseConfirmed, holdReason, holdsFor, parseRetention, retentionParts } from "./governance";
import type { LegalHold } from "./types";

describe("retention choices", () => {
  it("maps days to the select and back", () => {
    expect(choiceOf(null)).toBe("forever");
    expect(choiceOf(365)).toBe("365");
    expect(choiceOf(400)).toBe("custom");
    expect(parseRetention("forever", "")).toEqual({ ok: true, days: null });
    expect(parseRetention("730", "")).toEqual({ ok: true, days: 730 });
    expect(parseRetention("custom", " 400 ")).toEqual({ ok: true, days: 400 });
  });

  it("refuses what the relay refuses", () => {
    expect(parseRetention("custom", "89")).toEqual({ ok: false, error: "retentionRange" });
    expect(parseRetention("custom", "3651")).toEqual({ ok: false, error: "retentionRange" });
    expect(parseRetention("custom", "1.5")).toEqual({ ok: false, error: "retentionWhole" });
    expect(parseRetention("custom", "")).toEqual({ ok: false, error: "retentionWhole" });
    expect(parseRetention("custom", "-100")).toEqual({ ok: false, error: "retentionWhole" });
  });

  it("reads in years when whole", () => {
    expect(retentionParts(null).key).toBe("retentionForever");
    expect(retentionParts(365)).toEqual({ key: "retentionOneYear", n: 1 });
    expect(retentionParts(730)).toEqual({ key: "retentionYears", n: 2 });
    expect(retentionParts(90)).toEqual({ key: "retentionDays", n: 90 });
  });
});

describe("legal holds and erasure", () => {
  it("checks a hold's reason", () => {
    expect(holdReason("  Az. 7 O 123/26 ")).toEqual({ ok: true, reason: "Az. 7 O 123/26" });
    expect(holdReason("   ")).toEqual({ ok: false, error: "holdReasonEmpty" });
    expect(holdReason("x".repeat(201))).toEqual({ ok: false, error: "holdReasonLong" });
    expect(holdReason("a\nb")).toEqual({ ok: false, error: "holdReasonLine" });
  });

  it("finds the holds of an open conversation", () => {
    const h = (id: number, contact: number | null, conversation: number | null): LegalHold => ({
      id, contact_id: contact, conversation_id: conversation, reason: "r", set_by: "a@example.com", set_at: 0,
    });
    const holds = [h(1, 5, null), h(2, null, 9)];
    expect(holdsFor(holds, 5, 8)).toEqual({ contact: holds[0], conversation: undefined });
    expect(holdsFor(holds, 6, 9)).toEqual({ contact: undefined, conversation: holds[1] });
    expect(holdsFor([], 5, 9)).toEqual({ contact: undefined, conversation: undefined });
  });

  it("needs the typed word to erase", () => {
    expect(eraseConfirmed(" löschen ", "LÖSCHEN")).toBe(true);
    expect(eraseConfirmed("erase", "ERASE")).toBe(true);
    expect(eraseConfirmed("eras", "ERASE")).toBe(false);
    expect(eraseConfirmed("", "ERASE")).toBe(false);
  });
});
