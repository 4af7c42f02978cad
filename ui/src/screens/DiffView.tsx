// Compare two versions field by field (the server's structured diff); long text line by line.
import { diffLines } from "diff";
import { useEffect, useState } from "react";
import { allVersions, type Assistant, assistants, type Change, type Diff, type Json, type Version } from "../api";
import { ErrorBox, Loading } from "../components/common";
import { href, navigate } from "../router";

interface Row {
  label: string;
  also?: string;
  change: Change;
}

const name = (c: Change) => [c.field, ...c.path].join(".");

/** config.configurable.X and context.X mirror each other on the server: show such a pair once. */
function rowsOf(changes: Change[]): Row[] {
  const rows: Row[] = [];
  const mirrored = new Set<Change>();
  for (const c of changes) {
    if (c.field !== "context" || !c.path.length) continue;
    const twin = changes.find(
      (o) =>
        o.field === "config" &&
        o.path[0] === "configurable" &&
        JSON.stringify(o.path.slice(1)) === JSON.stringify(c.path) &&
        o.kind === c.kind &&
        JSON.stringify(o.old) === JSON.stringify(c.old) &&
        JSON.stringify(o.new) === JSON.stringify(c.new),
    );
    if (twin) mirrored.add(twin);
  }
  for (const c of changes) {
    if (mirrored.has(c)) continue;
    const twin = c.field === "context" ? [...mirrored].find((m) => JSON.stringify(m.path.slice(1)) === JSON.stringify(c.path)) : undefined;
    rows.push({ label: name(c), also: twin ? name(twin) : undefined, change: c });
  }
  return rows;
}

const isLongText = (v: Json | undefined) => typeof v === "string" && (v.includes("\n") || v.length > 60);

function Value({ value }: { value: Json | undefined }) {
  if (value === undefined) return <span className="muted">(absent)</span>;
  return <code className="value">{typeof value === "string" ? value : JSON.stringify(value)}</code>;
}

function TextDiff({ from, to }: { from: string; to: string }) {
  const parts = diffLines(from.endsWith("\n") ? from : `${from}\n`, to.endsWith("\n") ? to : `${to}\n`);
  return (
    <pre className="line-diff" aria-label="Line by line">
      {parts.flatMap((p, i) =>
        p.value
          .replace(/\n$/, "")
          .split("\n")
          .map((line, j) => {
            const kind = p.added ? "added" : p.removed ? "removed" : "same";
            const sign = p.added ? "+" : p.removed ? "−" : " ";
            return (
              <span key={`${i}-${j}`} className={`line ${kind}`} data-kind={kind}>
                <span className="sign" aria-hidden="true">{sign}</span>
                <span className="sr-only">{kind === "same" ? "" : `${kind}: `}</span>
                {line || " "}
                {"\n"}
              </span>
            );
          }),
      )}
    </pre>
  );
}

function ChangeRow({ row }: { row: Row }) {
  const { change } = row;
  return (
    <li className="change" aria-label={row.label}>
      <div className="change-head">
        <code>{row.label}</code> <span className={`badge ${change.kind}`}>{change.kind}</span>
        {row.also ? <span className="muted small-text"> (and its mirror {row.also})</span> : null}
      </div>
      {change.kind === "changed" && typeof change.old === "string" && typeof change.new === "string" && (isLongText(change.old) || isLongText(change.new)) ? (
        <TextDiff from={change.old} to={change.new} />
      ) : (
        <div className="values">
          {change.kind !== "added" ? (
            <div>
              <span className="muted">before </span>
              <Value value={change.old} />
            </div>
          ) : null}
          {change.kind !== "removed" ? (
            <div>
              <span className="muted">after </span>
              <Value value={change.new} />
            </div>
          ) : null}
        </div>
      )}
    </li>
  );
}

export function DiffView({ assistant, query }: { assistant: Assistant; query: URLSearchParams }) {
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [diff, setDiff] = useState<Diff | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    allVersions(assistant.assistant_id).then(setVersions, setError);
  }, [assistant.assistant_id]);
  const numbers = (versions ?? []).map((v) => v.version);
  const to = Number(query.get("to")) || assistant.version;
  // Default: what the active version changed, i.e. from the newest version older than it (or,
  // after a rollback, from the newest version after it).
  const from = Number(query.get("from")) || numbers.find((n) => n < to) || numbers.find((n) => n !== to) || to;

  useEffect(() => {
    if (!versions) return;
    setDiff(null);
    setError(null);
    // A response for versions no longer picked (the user picked again meanwhile) is dropped, so a
    // slow earlier diff can never overwrite the current one.
    let current = true;
    assistants.diff(assistant.assistant_id, from, to).then(
      (d) => current && setDiff(d),
      (e) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [assistant.assistant_id, from, to, versions]);

  const pick = (which: "from" | "to", value: number) =>
    navigate(href(`/assistants/${assistant.assistant_id}/diff`, { from, to, [which]: value }));
  const picker = (which: "from" | "to", value: number) => (
    <div className="field">
      <label htmlFor={`diff-${which}`}>{which === "from" ? "From version" : "To version"}</label>
      <select id={`diff-${which}`} value={value} onChange={(e) => pick(which, Number(e.target.value))}>
        {numbers.map((n) => (
          <option key={n} value={n}>
            {n}
            {n === assistant.version ? " (active)" : ""}
          </option>
        ))}
      </select>
    </div>
  );

  if (!versions) return error ? <ErrorBox error={error} /> : <Loading what="versions" />;
  const rows = diff ? rowsOf(diff.changes) : [];
  return (
    <section aria-labelledby="diff-title">
      <h2 id="diff-title">
        Changes from version {from} to version {to}
      </h2>
      <div className="row wrap">
        {picker("from", from)}
        {picker("to", to)}
      </div>
      <ErrorBox error={error} title="Could not compare" />
      {!diff && !error ? <Loading what="the diff" /> : null}
      {diff && rows.length === 0 ? <p className="empty">No differences: these versions are the same.</p> : null}
      {diff && rows.length ? (
        <ul className="changes" aria-label="Changes">
          {rows.map((r) => (
            <ChangeRow key={r.label} row={r} />
          ))}
        </ul>
      ) : null}
    </section>
  );
}
