// One assistant: its header (id, active version, edit, delete) and tabs for versions, diff,
// try it, graph & schemas, and crons.
import { useCallback, useEffect, useState } from "react";
import { type Assistant, assistants } from "../api";
import { CopyButton, ErrorBox, isSystem, Loading, SystemBadge, When } from "../components/common";
import { Dialog } from "../components/Dialog";
import { href, navigate } from "../router";
import { Crons } from "./Crons";
import { DiffView } from "./DiffView";
import { GraphView } from "./GraphView";
import { TryIt } from "./TryIt";
import { Versions } from "./Versions";

const TABS = [
  ["versions", "Versions"],
  ["diff", "Diff"],
  ["try", "Try it"],
  ["graph", "Graph & schemas"],
  ["crons", "Crons"],
] as const;

function DeleteAssistant({ assistant, onClose }: { assistant: Assistant; onClose: () => void }) {
  const [count, setCount] = useState<number | null>(null);
  const [withThreads, setWithThreads] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    assistants.summary(assistant.assistant_id).then((s) => setCount(s.version_count), setError);
  }, [assistant.assistant_id]);
  const remove = async () => {
    setBusy(true);
    try {
      await assistants.remove(assistant.assistant_id, withThreads);
      navigate(href("/"));
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <>
      <p>
        Delete <strong>{assistant.name}</strong> and{" "}
        {count === null ? "all its versions" : <strong>{count === 1 ? "its only version" : `all ${count} of its versions`}</strong>}? This
        cannot be undone.
        {isSystem(assistant.metadata) ? " It is this graph's default assistant: graphdock makes a fresh one at the next start." : ""}
      </p>
      <label className="toggle">
        <input type="checkbox" checked={withThreads} onChange={(e) => setWithThreads(e.target.checked)} /> Also delete its threads
        (those its runs used)
      </label>
      <ErrorBox error={error} title="Not deleted" />
      <div className="row">
        <button type="button" className="danger" disabled={busy || count === null} onClick={remove}>
          {busy ? "Deleting…" : count === null ? "Delete" : `Delete assistant and ${count} version${count === 1 ? "" : "s"}`}
        </button>
        <button type="button" onClick={onClose} data-autofocus>
          Cancel
        </button>
      </div>
    </>
  );
}

export function AssistantPage({ assistantId, tab, query }: { assistantId: string; tab: string; query: URLSearchParams }) {
  const [assistant, setAssistant] = useState<Assistant | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState(false);
  const reload = useCallback(() => {
    return assistants.get(assistantId).then(setAssistant, setError);
  }, [assistantId]);
  useEffect(() => {
    reload();
  }, [reload]);

  if (error) return <ErrorBox error={error} title="Could not load the assistant" />;
  if (!assistant) return <Loading what="the assistant" />;
  const saved = query.get("saved");
  return (
    <section aria-labelledby="assistant-title">
      <p className="crumbs">
        <a href={href("/")}>Assistants</a> / {assistant.graph_id}
      </p>
      <div className="title-row">
        <h1 id="assistant-title">
          {assistant.name} {isSystem(assistant.metadata) ? <SystemBadge /> : null}
        </h1>
        <div className="row">
          <a className="button primary" href={href(`/assistants/${assistant.assistant_id}/edit`)}>
            Edit
          </a>
          <button type="button" className="danger" onClick={() => setDeleting(true)}>
            Delete…
          </button>
        </div>
      </div>
      <dl className="facts">
        <div>
          <dt>Active version</dt>
          <dd data-testid="active-version">version {assistant.version}</dd>
        </div>
        <div>
          <dt>Graph</dt>
          <dd>{assistant.graph_id}</dd>
        </div>
        <div>
          <dt>Assistant ID</dt>
          <dd>
            <code>{assistant.assistant_id}</code> <CopyButton text={assistant.assistant_id} label="Copy the assistant ID" />
          </dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>
            <When iso={assistant.updated_at} />
          </dd>
        </div>
      </dl>
      {assistant.description ? <p>{assistant.description}</p> : null}
      {saved ? (
        <p className="notice" role="status">
          Saved as version {saved}, now active.
        </p>
      ) : null}
      <nav className="tabs" aria-label="Assistant sections">
        {TABS.map(([key, label]) => (
          <a key={key} href={href(`/assistants/${assistant.assistant_id}/${key}`)} aria-current={tab === key ? "page" : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <div className="tab-body">
        {tab === "versions" ? <Versions assistant={assistant} onChanged={reload} query={query} /> : null}
        {tab === "diff" ? <DiffView assistant={assistant} query={query} /> : null}
        {tab === "try" ? <TryIt assistant={assistant} /> : null}
        {tab === "graph" ? <GraphView assistant={assistant} /> : null}
        {tab === "crons" ? <Crons assistant={assistant} /> : null}
      </div>
      <Dialog open={deleting} title="Delete assistant" onClose={() => setDeleting(false)}>
        <DeleteAssistant assistant={assistant} onClose={() => setDeleting(false)} />
      </Dialog>
    </section>
  );
}
