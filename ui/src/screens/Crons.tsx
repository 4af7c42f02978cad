// An assistant's crons: list them, create one, pause and resume, delete, and see what each ran
// (its history: the runs it made, each with the assistant version that ran).
import { useCallback, useEffect, useState } from "react";
import { type Assistant, type Cron, crons, type JsonObject, type Run } from "../api";
import { ErrorBox, Loading, When } from "../components/common";
import { JsonInput } from "../components/JsonInput";

function History({ cron }: { cron: Cron }) {
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    crons.history(cron.cron_id).then(setRuns, setError);
  }, [cron.cron_id, cron.next_run_date]);
  if (error) return <ErrorBox error={error} title="Could not load its runs" />;
  if (!runs) return <Loading what="its runs" />;
  if (!runs.length) return <p className="muted">No runs yet{cron.thread_id ? "" : " (a stateless cron keeps its runs only with on_run_completed keep)"}.</p>;
  return (
    <table aria-label={`Runs of cron ${cron.cron_id}`}>
      <thead>
        <tr>
          <th>Started</th>
          <th>Status</th>
          <th>Version</th>
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.run_id}>
            <td>
              <When iso={r.created_at} />
            </td>
            <td>{r.status}</td>
            <td data-testid="run-version">{r.assistant_version === null ? "—" : `version ${r.assistant_version}`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function NewCron({ assistant, onCreated }: { assistant: Assistant; onCreated: () => void }) {
  const [schedule, setSchedule] = useState("0 9 * * 1-5");
  const [timezone, setTimezone] = useState("UTC");
  const [keep, setKeep] = useState(true);
  const [input, setInput] = useState<JsonObject>({});
  const [valid, setValid] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    if (!valid) return;
    setBusy(true);
    setError(null);
    try {
      await crons.create({
        assistant_id: assistant.assistant_id,
        schedule,
        timezone,
        input,
        on_run_completed: keep ? "keep" : "delete",
      });
      onCreated();
    } catch (err) {
      setError(err);
    }
    setBusy(false);
  };
  return (
    <form onSubmit={create} aria-label="New cron" className="stack">
      <div className="row">
        <label>
          Schedule (five cron fields) <input value={schedule} onChange={(e) => setSchedule(e.target.value)} required />
        </label>
        <label>
          Time zone <input value={timezone} onChange={(e) => setTimezone(e.target.value)} />
        </label>
        <label className="toggle">
          <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} /> Keep each run's thread
        </label>
      </div>
      <JsonInput
        label="Input (JSON)"
        value={input}
        rows={3}
        onChange={(v, ok) => {
          setValid(ok);
          if (ok) setInput(v as JsonObject);
        }}
      />
      <ErrorBox error={error} title="Not created" />
      <button type="submit" className="primary" disabled={busy || !valid}>
        {busy ? "Creating…" : "Create cron"}
      </button>
    </form>
  );
}

export function Crons({ assistant }: { assistant: Assistant }) {
  const [list, setList] = useState<Cron[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<string | null>(null);
  const reload = useCallback(() => crons.search(assistant.assistant_id).then(setList, setError), [assistant.assistant_id]);
  useEffect(() => {
    reload();
  }, [reload]);
  const act = async (work: Promise<unknown>) => {
    setError(null);
    try {
      await work;
    } catch (err) {
      setError(err);
    }
    await reload();
  };
  return (
    <div className="stack">
      <ErrorBox error={error} title="Crons" />
      {list === null ? (
        <Loading what="the crons" />
      ) : list.length === 0 ? (
        <p className="muted">No crons run this assistant.</p>
      ) : (
        <table aria-label="Crons">
          <thead>
            <tr>
              <th>Schedule</th>
              <th>Runs on</th>
              <th>Next run</th>
              <th>State</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((cron) => (
              <tr key={cron.cron_id} data-testid="cron-row">
                <td>
                  <code>{cron.schedule}</code> {cron.timezone ?? "UTC"}
                </td>
                <td>{cron.thread_id ? <code>{cron.thread_id}</code> : "a new thread each time"}</td>
                <td>{cron.enabled && cron.next_run_date ? <When iso={cron.next_run_date} /> : "—"}</td>
                <td data-testid="cron-state">{cron.enabled ? "active" : "paused"}</td>
                <td className="row">
                  <button type="button" onClick={() => act(crons.update(cron.cron_id, { enabled: !cron.enabled }))}>
                    {cron.enabled ? "Pause" : "Resume"}
                  </button>
                  <button type="button" onClick={() => setOpen(open === cron.cron_id ? null : cron.cron_id)}>
                    {open === cron.cron_id ? "Hide runs" : "Runs"}
                  </button>
                  <button type="button" className="danger" onClick={() => act(crons.remove(cron.cron_id))}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list?.filter((cron) => cron.cron_id === open).map((cron) => <History key={cron.cron_id} cron={cron} />)}
      <h2>New cron</h2>
      <NewCron assistant={assistant} onCreated={reload} />
    </div>
  );
}
