// Exports for those whose role grants `export` (audited on the relay): one customer's data (a
// GDPR access request) from the customer panel, everything from the admin console; JSON Lines,
// streamed into the Downloads folder under a name that never replaces a file.
import { useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { savedPlace } from "./logic";
import type { Key } from "./i18n";

function ExportButton(props: { label: Key; testid: string; run: () => Promise<string> }) {
  const { t } = useUi();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const go = async () => {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      setSaved(await props.run());
    } catch (e) {
      setError(asUiError(e).message);
    } finally {
      setBusy(false);
    }
  };
  const place = saved ? savedPlace(saved) : null;
  return (
    <div className="export">
      <button data-testid={props.testid} disabled={busy} onClick={go}>
        {t(props.label)}
      </button>
      {place && (
        <small className="ok" data-testid={`${props.testid}-saved`} title={saved ?? undefined}>
          {t("savedAs", place)}
        </small>
      )}
      {error && (
        <small className="error" role="alert">
          {error}
        </small>
      )}
    </div>
  );
}

export function ExportCustomer(props: { contactId: number }) {
  return <ExportButton label="exportCustomer" testid="export-customer" run={() => api.exportContact(props.contactId)} />;
}

export function ExportEverything() {
  return <ExportButton label="exportEverything" testid="export-all" run={() => api.exportAll()} />;
}
