// One thread: its messages (or values), an interrupt with a form to resume it, its checkpoints
// (history) with the assistant version that wrote each, a run from an earlier checkpoint (fork),
// and the runs made on it.
import { useCallback, useEffect, useState } from "react";
import { type Checkpoint, type Json, type JsonObject, type Run, type Thread, threads } from "../api";
import { CopyButton, duration, ErrorBox, Loading, pretty, runError, StatusBadge, took, When } from "../components/common";
import { href } from "../router";

interface Message {
  type?: string;
  role?: string;
  content?: Json;
  id?: string;
}

function messagesOf(values: Json): Message[] | null {
  if (!values || typeof values !== "object" || Array.isArray(values)) return null;
  const messages = (values as JsonObject).messages;
  return Array.isArray(messages) ? (messages as unknown as Message[]) : null;
}

function text(content: Json | undefined): string {
  if (typeof content === "string") return content;
  return pretty(content);
}

function parseJson(raw: string): { value?: Json; error?: string } {
  if (!raw.trim()) return {};
  try {
    return { value: JSON.parse(raw) as Json };
  } catch {
    return { error: "Not valid JSON (a string needs quotes: \"yes\")" };
  }
}

function Values({ values }: { values: Json }) {
  const messages = messagesOf(values);
  if (!messages) return <pre className="json" aria-label="Values">{pretty(values)}</pre>;
  if (!messages.length) return <p className="muted">No messages yet.</p>;
  return (
    <ol className="messages" aria-label="Messages">
      {messages.map((m, i) => {
        const role = m.type ?? m.role ?? "message";
        return (
          <li key={m.id ?? i} className={`message ${role}`}>
            <div className="role">{role}</div>
            {text(m.content)}
          </li>
        );
      })}
    </ol>
  );
}

export function ThreadPage({ threadId }: { threadId: string }) {
  const [thread, setThread] = useState<Thread | null>(null);
  const [history, setHistory] = useState<Checkpoint[] | null>(null);
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [resume, setResume] = useState('"yes"');
  const [forkInput, setForkInput] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);

  const load = useCallback(
    () =>
      Promise.all([threads.get(threadId), threads.history(threadId, 50), threads.runs(threadId)]).then(([t, h, r]) => {
        setThread(t);
        setHistory(h);
        setRuns(r);
      }, setError),
    [threadId],
  );
  useEffect(() => {
    load();
  }, [load]);

  if (error) return <ErrorBox error={error} title="Could not load the thread" />;
  if (!thread || !history || !runs) return <Loading what="the thread" />;
  const assistantId = typeof thread.metadata.assistant_id === "string" ? thread.metadata.assistant_id : null;
  const pending = Object.values(thread.interrupts ?? {}).flat();

  /** Start a run on this thread, wait for it to end, then show the thread as it now is. */
  const run = async (what: string, body: JsonObject) => {
    if (!assistantId) return;
    setBusy(what);
    setActionError(null);
    setDone(null);
    try {
      const started = await threads.startRun(threadId, { assistant_id: assistantId, ...body });
      await threads.join(threadId, started.run_id);
      const finished = await threads.run(threadId, started.run_id);
      setDone(`${what}: run ${finished.status}${finished.assistant_version ? ` (version ${finished.assistant_version})` : ""}`);
      await load();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(null);
    }
  };
  const resumeParsed = parseJson(resume);
  const forkParsed = parseJson(forkInput);

  return (
    <section aria-labelledby="thread-title">
      <p className="crumbs">
        <a href={href("/threads")}>Threads</a>
      </p>
      <div className="title-row">
        <h1 id="thread-title">
          Thread <code>{thread.thread_id.slice(0, 8)}</code> <StatusBadge status={thread.status} />
        </h1>
      </div>
      <dl className="facts">
        <div>
          <dt>Thread ID</dt>
          <dd>
            <code>{thread.thread_id}</code> <CopyButton text={thread.thread_id} label="Copy the thread ID" />
          </dd>
        </div>
        <div>
          <dt>Assistant</dt>
          <dd>{assistantId ? <a href={href(`/assistants/${assistantId}/versions`)}>{assistantId.slice(0, 8)}</a> : "—"}</dd>
        </div>
        <div>
          <dt>Graph</dt>
          <dd>{typeof thread.metadata.graph_id === "string" ? thread.metadata.graph_id : "—"}</dd>
        </div>
        <div>
          <dt>Updated</dt>
          <dd>
            <When iso={thread.updated_at} />
          </dd>
        </div>
      </dl>
      {done ? (
        <p className="notice" role="status">
          {done}
        </p>
      ) : null}
      <ErrorBox error={actionError} title="The run could not be made" />

      {pending.length ? (
        <section className="interrupt" aria-labelledby="interrupt-title">
          <h2 id="interrupt-title">Waiting for input</h2>
          {pending.map((i, n) => (
            <pre key={i.id ?? n} className="json" aria-label="Interrupt value">
              {pretty(i.value)}
            </pre>
          ))}
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (resumeParsed.value !== undefined) run("Resumed", { command: { resume: resumeParsed.value } });
            }}
          >
            <div className="field">
              <label htmlFor="resume-value">Resume with (JSON)</label>
              <textarea id="resume-value" rows={2} value={resume} onChange={(e) => setResume(e.target.value)} />
              {resumeParsed.error ? <p className="field-error">{resumeParsed.error}</p> : null}
            </div>
            <button type="submit" className="primary" disabled={!!busy || !assistantId || resumeParsed.value === undefined}>
              {busy === "Resumed" ? "Resuming…" : "Resume"}
            </button>
          </form>
        </section>
      ) : null}

      <h2>{messagesOf(thread.values) ? "Messages" : "Values"}</h2>
      <Values values={thread.values} />

      <h2 id="history-title">Checkpoints</h2>
      <p className="help">
        Newest first. Each was written by the assistant version named (checkpoint metadata <code>assistant_version</code>). Running
        from an earlier checkpoint forks the thread there: the new run continues from that state, with the input below if any.
      </p>
      <div className="field">
        <label htmlFor="fork-input">Input for a run from a checkpoint (JSON, optional)</label>
        <textarea
          id="fork-input"
          rows={2}
          value={forkInput}
          placeholder='{"messages": [{"role": "user", "content": "try again"}]}'
          onChange={(e) => setForkInput(e.target.value)}
        />
        {forkParsed.error ? <p className="field-error">{forkParsed.error}</p> : null}
      </div>
      <div className="table-wrap">
        <table aria-labelledby="history-title">
          <thead>
            <tr>
              <th scope="col">Step</th>
              <th scope="col">Source</th>
              <th scope="col">Next</th>
              <th scope="col">Version</th>
              <th scope="col">Written</th>
              <th scope="col">Fork</th>
            </tr>
          </thead>
          <tbody>
            {history.map((c) => {
              const step = c.metadata.step as number | undefined;
              const version = c.metadata.assistant_version as number | undefined;
              return (
                <tr key={c.checkpoint.checkpoint_id}>
                  <td className="num">{step ?? "—"}</td>
                  <td>{String(c.metadata.source ?? "—")}</td>
                  <td>{c.next.length ? c.next.join(", ") : <span className="muted">end</span>}</td>
                  <td>{version ? `version ${version}` : <span className="muted">—</span>}</td>
                  <td>
                    <When iso={c.created_at} />
                  </td>
                  <td>
                    <button
                      type="button"
                      className="small"
                      disabled={!!busy || !assistantId || !!forkParsed.error}
                      onClick={() =>
                        run(`Forked from step ${step}`, {
                          checkpoint_id: c.checkpoint.checkpoint_id,
                          ...(forkParsed.value !== undefined ? { input: forkParsed.value } : {}),
                        })
                      }
                    >
                      Run from step {step ?? "?"}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>

      <h2 id="thread-runs-title">Runs</h2>
      {runs.length ? (
        <div className="table-wrap">
          <table aria-labelledby="thread-runs-title">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Version</th>
                <th scope="col">Took</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.run_id}>
                  <td>
                    <When iso={r.created_at} />
                  </td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td>{r.assistant_version ? `version ${r.assistant_version}` : "—"}</td>
                  <td className="num">
                    {duration(took(r))}
                  </td>
                  <td className="small-text">{runError(r)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="empty">No runs on this thread.</p>
      )}
    </section>
  );
}
