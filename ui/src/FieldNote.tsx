// What a form says beside a field: a message in the person's language, or the relay's refusal.
import { useUi } from "./App";
import type { FieldError } from "./adminForms";

export function FieldNote(props: { error?: FieldError | null; testid: string }) {
  const { t } = useUi();
  if (!props.error) return null;
  const text = "text" in props.error ? props.error.text : t(props.error.key, props.error.vars);
  return (
    <small className="error field-error" data-testid={props.testid} role="alert">
      {text}
    </small>
  );
}
