// Sensitive words in the admin console (permission `manage_automations`): the list for every
// language, lists per customer language, and a live "try a message" (optionally as a customer of
// one language) that the relay checks exactly as it checks a send.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { languageCodeError, languageLists, parseWordList, type FieldError } from "./adminForms";
import { FieldNote } from "./FieldNote";

export function Words() {
  const { t } = useUi();
  const [text, setText] = useState("");
  const [langs, setLangs] = useState<Record<string, string>>({});
  const [newLang, setNewLang] = useState("");
  const [langError, setLangError] = useState<FieldError | null>(null);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState<FieldError | null>(null);
  const [sample, setSample] = useState("");
  const [sampleLang, setSampleLang] = useState("");
  const [verdict, setVerdict] = useState<{ blocked: boolean; matched: string | null } | null>(null);
  // Editable once the stored lists are in (they must not overwrite what someone already typed).
  const [loaded, setLoaded] = useState(false);
  const show = (w: { entries: string[]; languages?: Record<string, string[]> }) => {
    setText(w.entries.join("\n"));
    setLangs(Object.fromEntries(Object.entries(w.languages ?? {}).map(([k, v]) => [k, v.join("\n")])));
  };
  useEffect(() => {
    api.adminWords().then(
      (w) => {
        show(w);
        setLoaded(true);
      },
      (e) => setError({ text: asUiError(e).message }),
    );
  }, []);
  useEffect(() => {
    if (!sample.trim()) return setVerdict(null);
    const timer = setTimeout(() => {
      api.adminCheckWords(sample, sampleLang || undefined).then(setVerdict, (e) => setError({ text: asUiError(e).message }));
    }, 250);
    return () => clearTimeout(timer);
  }, [sample, sampleLang]);
  const save = async () => {
    try {
      show(await api.adminSetWords(parseWordList(text), languageLists(langs)));
      setSaved(true);
      setError(null);
      if (sample.trim()) setVerdict(await api.adminCheckWords(sample, sampleLang || undefined));
    } catch (e) {
      setError({ text: asUiError(e).message });
    }
  };
  const addLang = () => {
    const err = languageCodeError(newLang, Object.keys(langs));
    setLangError(err);
    if (err) return;
    setLangs((l) => ({ ...l, [newLang.trim()]: "" }));
    setNewLang("");
    setSaved(false);
  };
  const codes = Object.keys(langs).sort();
  return (
    <form className="admin-form card" data-testid="words" onSubmit={(e) => (e.preventDefault(), save())}>
      <h3>{t("wordsTitle")}</h3>
      <label className="wide">
        <span className="hint">{t("wordsHint")}</span>
        <textarea data-testid="words-list" data-loaded={loaded} disabled={!loaded} rows={6} value={text} onChange={(e) => (setText(e.target.value), setSaved(false))} />
        <FieldNote error={error} testid="words-error" />
      </label>
      {codes.map((code) => (
        <label key={code} className="wide">
          {t("wordsForLanguage", { code })}
          <textarea data-testid="words-lang" data-lang={code} rows={3} value={langs[code]} onChange={(e) => (setLangs((l) => ({ ...l, [code]: e.target.value })), setSaved(false))} />
        </label>
      ))}
      <label>
        {t("addLanguage")}
        <input data-testid="words-new-lang" placeholder="de, en, tr …" value={newLang} disabled={!loaded} aria-invalid={!!langError} onChange={(e) => setNewLang(e.target.value)} onKeyDown={(e) => e.key === "Enter" && (e.preventDefault(), addLang())} />
        <FieldNote error={langError} testid="words-new-lang-error" />
      </label>
      <button type="button" data-testid="words-add-lang" disabled={!loaded} onClick={addLang}>
        {t("addLanguageButton")}
      </button>
      <div className="row wide">
        <button type="submit" className="primary" data-testid="words-save" disabled={!loaded}>
          {t("saveWords")}
        </button>
        {saved && <small className="hint" data-testid="words-saved">{t("saved")}</small>}
      </div>
      <label className="wide">
        {t("tryMessage")}
        <input data-testid="words-try" value={sample} onChange={(e) => setSample(e.target.value)} />
        {verdict && (
          <small className={verdict.blocked ? "error" : "hint"} data-testid="words-verdict" data-blocked={verdict.blocked}>
            {verdict.blocked ? t("wordsBlocked", { word: verdict.matched ?? "" }) : t("wordsPass")}
          </small>
        )}
      </label>
      <label>
        {t("asCustomerOf")}
        <select data-testid="words-try-lang" value={sampleLang} onChange={(e) => setSampleLang(e.target.value)}>
          <option value="">{t("anyLanguage")}</option>
          {codes.map((c) => (
            <option key={c} value={c}>
              {c}
            </option>
          ))}
        </select>
      </label>
    </form>
  );
}
