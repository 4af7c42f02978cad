// Small building blocks every screen uses: loading and error states, copy, dates, badges.
import { useEffect, useState } from "react";
import { ApiError, type Run } from "../api";

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const text =
    error instanceof ApiError
      ? `${error.status ? `${error.status} — ` : ""}${error.detail}`
      : error instanceof Error
        ? error.message
        : String(error);
  // A 401 brings up the sign-in form; a 403 is the server's word on what this key may do.
  const hint =
    error instanceof ApiError && error.status === 412
      ? " Someone else changed this assistant; reload to see the current version."
      : "";
  return (
    <div className="error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {text}
      {hint}
    </div>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  useEffect(() => {
    if (!done) return;
    const t = setTimeout(() => setDone(false), 1500);
    return () => clearTimeout(t);
  }, [done]);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Plain-HTTP origins other than localhost have no clipboard API: select-and-copy fallback.
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    setDone(true);
  };
  return (
    <button type="button" className="small" onClick={copy} aria-label={label} title={label}>
      {done ? "Copied" : "Copy"}
    </button>
  );
}

export function When({ iso }: { iso: string }) {
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={iso}>
      {d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })}
    </time>
  );
}

export function isSystem(metadata: Record<string, unknown>): boolean {
  return metadata?.created_by === "system";
}

export function SystemBadge() {
  return (
    <span className="badge" title="Made by graphdock at start-up for this graph (metadata.created_by = system)">
      default
    </span>
  );
}

export function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** A duration for people: "840 ms", "2.4 s", "3.1 min"; "—" when there is none. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

export function StatusBadge({ status }: { status: string }) {
  const tone = status === "success" || status === "idle" ? "active" : status === "error" || status === "timeout" ? "removed" : "changed";
  return <span className={`badge ${tone}`}>{status}</span>;
}

/** A run's length, creation to end; null while it is pending or running. */
export function took(run: Run): number | null {
  return run.status === "pending" || run.status === "running" ? null : Date.parse(run.updated_at) - Date.parse(run.created_at);
}

/** A failed run's error as one line ("ValueError: …"); empty for a run without one. */
export function runError(run: Run): string {
  return run.error ? `${run.error.error ?? "Error"}: ${run.error.message ?? ""}` : "";
}
