import { describe, expect, it } from "vitest";
import { detectLang, dicts, translate } from "./i18n";

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
});
