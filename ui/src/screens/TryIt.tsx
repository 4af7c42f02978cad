// Run the assistant on a new thread and stream what it does, with the version that ran.
import { useEffect, useRef, useState } from "react";
import { type Assistant, assistants, type Json, type JsonObject, type StreamEvent, streamRun, threads } from "../api";
import { ErrorBox, pretty } from "../components/common";
import { JsonInput } from "../components/JsonInput";

interface Message {
  type?: string;
  role?: string;
  content?: Json;
}

function lastAiText(values: Json): string | null {
  if (!values || typeof values !== "object" || Array.isArray(values)) return null;
  const messages = (values as JsonObject).messages;
  if (!Array.isArray(messages)) return null;
  const ai = [...messages].reverse().find((m) => {
    const msg = m as Message;
    return msg && (msg.type === "ai" || msg.role === "assistant");
  }) as Message | undefined;
  if (!ai) return null;
  return typeof ai.content === "string" ? ai.content : JSON.stringify(ai.content);
}

export function TryIt({ assistant }: { assistant: Assistant }) {
  const [chat, setChat] = useState<boolean | null>(null);
  const [message, setMessage] = useState("Hello!");
  const [input, setInput] = useState<JsonObject>({});
  const [inputValid, setInputValid] = useState(true);
  const [events, setEvents] = useState<StreamEvent[]>([]);
  const [version, setVersion] = useState<number | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [running, setRunning] = useState(false);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    assistants.schemas(assistant.assistant_id).then((s) => {
      const props = (s.input_schema?.properties ?? {}) as JsonObject;
      setChat("messages" in props);
    }, () => setChat(false));
    return () => abort.current?.abort();
  }, [assistant.assistant_id]);

  const run = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!inputValid) return;
    setEvents([]);
    setVersion(null);
    setStatus(null);
    setError(null);
    setRunning(true);
    abort.current = new AbortController();
    let runId: string | null = null;
    try {
      const thread = await threads.create({ assistant_id: assistant.assistant_id, graph_id: assistant.graph_id });
      const body: JsonObject = {
        assistant_id: assistant.assistant_id,
        input: chat ? { messages: [{ role: "user", content: message }] } : input,
        stream_mode: ["values"],
      };
      await streamRun(
        thread.thread_id,
        body,
        (ev) => {
          if (ev.event === "metadata" && ev.data && typeof ev.data === "object" && !Array.isArray(ev.data)) {
            runId = String(ev.data.run_id);
            if (typeof ev.data.assistant_version === "number") setVersion(ev.data.assistant_version);
          }
          if (ev.event === "error") setError(new Error(pretty(ev.data)));
          setEvents((list) => [...list, ev]);
        },
        abort.current.signal,
      );
      if (runId) {
        // The run record says which version ran too (and how it ended).
        const record = await threads.run(thread.thread_id, runId);
        setStatus(record.status);
        if (typeof record.assistant_version === "number") setVersion(record.assistant_version);
      }
    } catch (err) {
      if (!(err instanceof DOMException && err.name === "AbortError")) setError(err);
    } finally {
      setRunning(false);
    }
  };

  const values = [...events].reverse().find((e) => e.event === "values")?.data ?? null;
  const answer = values === null ? null : lastAiText(values);
  return (
    <section aria-labelledby="try-title">
      <h2 id="try-title">Try it</h2>
      <p className="help">Runs the active version (now version {assistant.version}) on a new thread and streams the output.</p>
      <form onSubmit={run} className="try-form">
        {chat === false ? (
          <JsonInput
            label="Input (JSON)"
            value={input}
            onChange={(v, ok) => {
              setInputValid(ok);
              if (ok && v && typeof v === "object" && !Array.isArray(v)) setInput(v);
            }}
            rows={4}
          />
        ) : (
          <div className="field">
            <label htmlFor="try-message">Message</label>
            <textarea id="try-message" rows={3} value={message} onChange={(e) => setMessage(e.target.value)} />
          </div>
        )}
        <div className="row">
          <button type="submit" className="primary" disabled={running || chat === null}>
            {running ? "Running…" : "Run"}
          </button>
          {running ? (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop watching
            </button>
          ) : null}
        </div>
      </form>
      <ErrorBox error={error} title="Run failed" />
      {events.length || running ? (
        <div className="output" aria-live="polite">
          <p>
            {version !== null ? (
              <span className="badge active" data-testid="run-version">
                Ran assistant version {version}
              </span>
            ) : (
              <span className="muted">starting…</span>
            )}{" "}
            {status ? <span className="muted">run {status}</span> : running ? <span className="muted">streaming…</span> : null}
          </p>
          {answer !== null ? (
            <div className="answer" aria-label="Output">
              {answer}
            </div>
          ) : null}
          <details open={answer === null}>
            <summary>Stream ({events.length} events)</summary>
            <ol className="events">
              {events.map((ev, i) => (
                <li key={i}>
                  <strong>{ev.event}</strong>
                  <pre className="json">{pretty(ev.data)}</pre>
                </li>
              ))}
            </ol>
          </details>
        </div>
      ) : null}
    </section>
  );
}
