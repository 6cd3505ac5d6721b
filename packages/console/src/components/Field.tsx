import { useId } from 'react';

/** A labelled input whose API validation error (by field path) is shown under it and announced. */
export function Field(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string | undefined;
  type?: string;
  name: string;
  readOnly?: boolean;
}) {
  const id = useId();
  const errId = `${id}-error`;
  return (
    <p className="field">
      <label htmlFor={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        readOnly={props.readOnly}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? errId : undefined}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.error ? (
        <span id={errId} className="field-error">
          {props.error}
        </span>
      ) : null}
    </p>
  );
}
