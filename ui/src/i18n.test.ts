import { describe, expect, it } from "vitest";
import { detectLang, dicts, formatTime, translate } from "./i18n";

describe("i18n", () => {
  it("follows the OS language, English otherwise", () => {
    expect(detectLang("de-DE")).toBe("de");
    expect(detectLang("de")).toBe("de");
    expect(detectLang("en-US")).toBe("en");
    expect(detectLang("fr-FR")).toBe("en");
    expect(detectLang(undefined)).toBe("en");
  });
  it("German has every English key, and placeholders fill in", () => {
    expect(Object.keys(dicts.de).sort()).toEqual(Object.keys(dicts.en).sort());
    expect(translate("de", "windowOpen", { time: "1:00:00" })).toBe("Antwortfenster: noch 1:00:00");
    expect(translate("en", "parameter", { n: 2 })).toBe("Parameter 2");
  });
  it("formats times per language: the hour today, the date before", () => {
    const now = new Date(2026, 10, 25, 18, 0).getTime();
    const today = new Date(2026, 10, 25, 9, 5).getTime();
    const earlier = new Date(2026, 9, 3, 9, 5).getTime();
    expect(formatTime("en", today, now)).toMatch(/09:05/);
    expect(formatTime("de", today, now)).toBe("09:05");
    expect(formatTime("de", earlier, now)).toMatch(/03\. ?Okt/);
    expect(formatTime("en", earlier, now)).toMatch(/Oct/);
    // The cached formatters keep languages apart.
    expect(formatTime("en", earlier, now)).not.toBe(formatTime("de", earlier, now));
  });
});
