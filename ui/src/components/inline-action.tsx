import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { Problem } from './layout';

export interface ActionField {
  name: string;
  label: string;
  placeholder?: string;
  minLength?: number;
  initial?: string;
}

/**
 * A button that opens a small form in place (revoke, extend, link a PR, waive): the fields, a submit
 * button, cancel. `submit` resolves to what to show afterwards (or nothing); the API's error is shown
 * as it is, so the page says what the API says.
 */
export function InlineAction({
  open: openLabel,
  openAria,
  submitLabel,
  fields,
  danger,
  submit,
}: {
  open: string;
  openAria?: string;
  submitLabel: string;
  fields: ActionField[];
  danger?: boolean;
  submit: (values: Record<string, string>) => Promise<ComponentChildren | void>;
}) {
  const initial = () => Object.fromEntries(fields.map((f) => [f.name, f.initial ?? '']));
  const [open, setOpen] = useState(false);
  const [values, setValues] = useState<Record<string, string>>(initial);
  const [error, setError] = useState<Error>();
  const [result, setResult] = useState<ComponentChildren>();
  const buttonClass = danger ? 'danger' : undefined;
  if (!open) {
    return (
      <span class="inline-action">
        <button
          type="button"
          class={buttonClass}
          onClick={() => {
            setOpen(true);
            setResult(undefined);
          }}
          aria-label={openAria}
        >
          {openLabel}
        </button>
        {result && <span role="status">{result}</span>}
      </span>
    );
  }
  return (
    <form
      class="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        submit(values).then((shown) => {
          setOpen(false);
          setError(undefined);
          setValues(initial());
          setResult(shown ?? undefined);
        }, setError);
      }}
    >
      {fields.map((field) => (
        <label>
          {field.label}
          <input
            name={field.name}
            required
            minLength={field.minLength}
            placeholder={field.placeholder}
            value={values[field.name]}
            onInput={(e) => setValues({ ...values, [field.name]: e.currentTarget.value })}
          />
        </label>
      ))}
      <button type="submit" class={buttonClass}>
        {submitLabel}
      </button>
      <button type="button" class="link" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <Problem error={error} />
    </form>
  );
}
