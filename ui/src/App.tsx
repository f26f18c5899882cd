import { createContext, useCallback, useContext, useEffect, useState } from "react";
import { api } from "./api";
import { translate, type Key, type Lang } from "./i18n";
import { applyTheme, loadLangPref, loadThemePref, resolveLang, type LangPref, type ThemePref } from "./prefs";
import type { AppInfo, UiError, User } from "./types";
import { SignIn } from "./SignIn";
import { Workspace } from "./Workspace";

export interface Ui {
  lang: Lang;
  t: (key: Key, vars?: Record<string, string | number>) => string;
}

export const UiContext = createContext<Ui>({ lang: "en", t: (k) => translate("en", k) });
export const useUi = () => useContext(UiContext);

export interface Prefs {
  langPref: LangPref;
  setLangPref: (p: LangPref) => void;
  themePref: ThemePref;
  setThemePref: (p: ThemePref) => void;
}

export function App() {
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  const [langPref, setLangPrefState] = useState<LangPref>(loadLangPref);
  const [themePref, setThemePrefState] = useState<ThemePref>(loadThemePref);
  const lang = resolveLang(langPref);

  const refresh = useCallback(() => {
    api.appInfo().then(setInfo, setError);
  }, []);
  useEffect(refresh, [refresh]);
  useEffect(() => {
    applyTheme(themePref);
    const mq = window.matchMedia?.("(prefers-color-scheme: dark)");
    const f = () => applyTheme(themePref);
    mq?.addEventListener?.("change", f);
    return () => mq?.removeEventListener?.("change", f);
  }, [themePref]);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  const ui: Ui = { lang, t: (k, v) => translate(lang, k, v) };
  const prefs: Prefs = {
    langPref,
    setLangPref: (p) => {
      localStorage.setItem("lang", p);
      setLangPrefState(p);
    },
    themePref,
    setThemePref: (p) => {
      localStorage.setItem("theme", p);
      setThemePrefState(p);
    },
  };

  let body;
  if (!info) {
    body = error ? <div className="fatal" role="alert">{error.message}</div> : <div className="splash" />;
  } else if (!info.user) {
    body = (
      <SignIn
        initialRelay={info.relay_url ?? ""}
        keychainError={info.keychain_error}
        onSignedIn={(u: User) => setInfo({ ...info, user: u, state: "connecting" })}
      />
    );
  } else {
    body = (
      <Workspace
        me={info.user}
        initialState={info.state}
        initialMuted={info.muted}
        initialPresence={info.presence}
        prefs={prefs}
        onSignedOut={() => setInfo({ ...info, user: null })}
        onUser={(u: User) => setInfo((i) => (i ? { ...i, user: u } : i))}
      />
    );
  }
  return <UiContext.Provider value={ui}>{body}</UiContext.Provider>;
}
