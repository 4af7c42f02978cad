// A JSON text area that reports whether its text parses; the raw-JSON views and nested values use it.
import { useEffect, useId, useState } from "react";
import type { Json } from "../api";

export function parseJson(text: string): { ok: true; value: Json } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text || "null") as Json };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

export function JsonInput({
  label,
  value,
  onChange,
  error,
  rows = 6,
  help,
  objectOnly = true,
}: {
  label: string;
  value: Json;
  onChange: (value: Json, valid: boolean) => void;
  error?: string;
  rows?: number;
  help?: string;
  objectOnly?: boolean;
}) {
  const id = useId();
  const [text, setText] = useState(() => JSON.stringify(value ?? {}, null, 2));
  const [problem, setProblem] = useState<string | null>(null);
  // Follow outside changes (e.g. the form view edited the same value) unless mid-edit and invalid.
  useEffect(() => {
    const parsed = parseJson(text);
    if (!parsed.ok || JSON.stringify(parsed.value) !== JSON.stringify(value)) {
      if (parsed.ok || problem === null) setText(JSON.stringify(value ?? {}, null, 2));
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [JSON.stringify(value)]);
  const edit = (next: string) => {
    setText(next);
    const parsed = parseJson(next);
    const shapeOk =
      parsed.ok && (!objectOnly || (parsed.value !== null && typeof parsed.value === "object" && !Array.isArray(parsed.value)));
    const message = !parsed.ok ? `Not valid JSON: ${parsed.error}` : shapeOk ? null : "Must be a JSON object";
    setProblem(message);
    onChange(parsed.ok ? parsed.value : value, message === null);
  };
  const shown = problem ?? error;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {help ? <p className="help" id={`${id}-help`}>{help}</p> : null}
      <textarea
        id={id}
        className="mono"
        rows={rows}
        spellCheck={false}
        value={text}
        aria-invalid={shown ? true : undefined}
        aria-describedby={shown ? `${id}-error` : help ? `${id}-help` : undefined}
        onChange={(e) => edit(e.target.value)}
      />
      {shown ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {shown}
        </p>
      ) : null}
    </div>
  );
}
