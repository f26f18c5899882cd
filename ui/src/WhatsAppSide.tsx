// What each number's WhatsApp side holds (in the numbers tab, `manage_numbers`): how far the chat
// history shared from the WhatsApp Business app has arrived (or that the business declined), and
// the media archive: files kept, waiting, given up, removed, against its size and retention.
import { useEffect, useState } from "react";
import { api, asUiError } from "./api";
import { useUi } from "./App";
import { formatBytes, historyState } from "./accountForms";
import { numberLabel } from "./logic";
import { ErrorNote } from "./Team";
import type { ArchiveSummary, HistoryImport, PhoneNumber, UiError } from "./types";

export function WhatsAppSide(props: { numbers: PhoneNumber[] }) {
  const { t, lang } = useUi();
  const [history, setHistory] = useState<HistoryImport[] | null>(null);
  const [archive, setArchive] = useState<ArchiveSummary | null>(null);
  const [error, setError] = useState<UiError | null>(null);
  // Reread when the numbers change (an added number), not on every render of the tab.
  const ids = props.numbers.map((n) => n.phone_number_id).join(",");
  useEffect(() => {
    let live = true;
    setError(null);
    Promise.all([api.adminHistoryImports(), api.adminMediaArchive()]).then(
      ([h, a]) => {
        if (!live) return;
        setHistory(h);
        setArchive(a);
      },
      (e) => live && setError(asUiError(e)),
    );
    return () => {
      live = false;
    };
  }, [ids]);
  return (
    <section className="accounts" data-testid="whatsapp-side">
      <h3>{t("whatsappSide")}</h3>
      {error && <ErrorNote error={error} testid="whatsapp-side-error" />}
      {history && (
        <dl>
          {props.numbers
            .filter((n) => n.configured)
            .map((n) => {
              const st = historyState(history, n.phone_number_id);
              return (
                <div key={n.phone_number_id} data-testid="history-import" data-id={n.phone_number_id} data-state={st.key}>
                  <dt>
                    {numberLabel(n.phone_number_id, props.numbers)}: {t("sharedHistory")}
                  </dt>
                  <dd>{t(st.key, st.vars as Record<string, string | number>)}</dd>
                </div>
              );
            })}
        </dl>
      )}
      {archive && (
        <p data-testid="media-archive" data-stored={archive.stored} data-pending={archive.pending}>
          <strong>{t("mediaArchive")}:</strong>{" "}
          {t("archiveLine", {
            stored: archive.stored,
            size: formatBytes(archive.bytes, lang),
            max: formatBytes(archive.max_bytes, lang),
            pending: archive.pending,
            failed: archive.failed,
            removed: archive.evicted + archive.expired,
          })}
          {"; "}
          {archive.retention_days ? t("archiveKeep", { days: archive.retention_days }) : t("archiveKeepSize")}
        </p>
      )}
    </section>
  );
}
