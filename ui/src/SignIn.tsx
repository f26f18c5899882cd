import { useState } from "react";
import { api } from "./api";
import { useUi } from "./App";
import type { UiError, User } from "./types";

/** First run: the relay URL, then email and password. */
export function SignIn(props: { initialRelay: string; keychainError: UiError | null; onSignedIn: (u: User) => void }) {
  const { t } = useUi();
  const [step, setStep] = useState<"relay" | "account">(props.initialRelay ? "account" : "relay");
  const [relay, setRelay] = useState(props.initialRelay);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<UiError | null>(null);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (step === "relay") {
      if (relay.trim()) setStep("account");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      props.onSignedIn(await api.signIn(relay, email, password));
    } catch (err) {
      setError(err as UiError);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form onSubmit={submit} className="card">
        <h1>Switchboard</h1>
        {props.keychainError && (
          <p className="banner error" role="alert" data-testid="keychain-error">
            <strong>{t("keychainMissing")}:</strong> {props.keychainError.message}
          </p>
        )}
        {step === "relay" ? (
          <>
            <label>
              {t("relayUrl")}
              <input data-testid="relay-url" type="url" autoFocus required placeholder="https://relay.example.com" value={relay} onChange={(e) => setRelay(e.target.value)} />
            </label>
            <p className="hint">{t("relayHint")}</p>
            <button type="submit" data-testid="next" className="primary">{t("next")}</button>
          </>
        ) : (
          <>
            <p className="hint">
              {relay} · <button type="button" className="link" onClick={() => setStep("relay")}>{t("back")}</button>
            </p>
            <label>
              {t("email")}
              <input data-testid="email" type="email" autoFocus required autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} />
            </label>
            <label>
              {t("password")}
              <input data-testid="password" type="password" required autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
            <button type="submit" data-testid="sign-in" className="primary" disabled={busy}>{busy ? t("signingIn") : t("signIn")}</button>
          </>
        )}
        {error && <p className="error" role="alert" data-testid="sign-in-error" data-code={error.code}>{error.message}</p>}
      </form>
    </main>
  );
}
