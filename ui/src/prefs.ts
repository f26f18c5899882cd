// UI preferences kept in the webview's local storage (mute lives in the backend: it gates
// notifications raised there).
import { detectLang, type Lang } from "./i18n";

export type ThemePref = "system" | "light" | "dark";
export type LangPref = "system" | Lang;

export function loadLangPref(): LangPref {
  const v = localStorage.getItem("lang");
  return v === "en" || v === "de" ? v : "system";
}
export function loadThemePref(): ThemePref {
  const v = localStorage.getItem("theme");
  return v === "light" || v === "dark" ? v : "system";
}
export function resolveLang(p: LangPref): Lang {
  return p === "system" ? detectLang(navigator.language) : p;
}
export function applyTheme(p: ThemePref) {
  const dark = p === "dark" || (p === "system" && window.matchMedia?.("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}
