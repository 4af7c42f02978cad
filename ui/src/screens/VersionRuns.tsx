// One version's runs, newest first, across every thread (GET /assistants/{id}/runs?version=N),
// filtered by status and paged; each opens its thread.
import { useEffect, useState } from "react";
import { type Assistant, assistants, type Run } from "../api";
import { duration, ErrorBox, Loading, runError, StatusBadge, took, When } from "../components/common";
import { href } from "../router";

const PAGE = 10;
const STATUSES = ["", "success", "error", "timeout", "interrupted", "running", "pending"];

export function VersionRuns({ assistant, version }: { assistant: Assistant; version: number }) {
  const [status, setStatus] = useState("");
  const [offset, setOffset] = useState(0);
  const [runs, setRuns] = useState<Run[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    setRuns(null);
    setError(null);
    assistants.runs(assistant.assistant_id, { version, status, limit: PAGE, offset }).then(
      (reply) => {
        if (!live) return;
        setRuns(reply.data);
        setMore(reply.headers.get("X-Pagination-Next") !== null);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [assistant.assistant_id, version, status, offset]);

  return (
    <section className="detail" aria-labelledby="version-runs-title">
      <div className="title-row">
        <h2 id="version-runs-title">Its runs</h2>
        <div className="field">
          <label htmlFor="version-runs-status">Status</label>
          <select
            id="version-runs-status"
            value={status}
            onChange={(e) => {
              setStatus(e.target.value);
              setOffset(0);
            }}
          >
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorBox error={error} title="Could not load runs" />
      {!runs && !error ? <Loading what="runs" /> : null}
      {runs && !runs.length ? <p className="empty">No runs of version {version}{status ? ` with status ${status}` : ""}.</p> : null}
      {runs && runs.length ? (
        <div className="table-wrap">
          <table aria-label={`Runs of version ${version}`}>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Took</th>
                <th scope="col">Thread</th>
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
                  <td className="num">{duration(took(r))}</td>
                  <td>
                    <a href={href(`/threads/${r.thread_id}`)} aria-label={`Open thread ${r.thread_id}`}>
                      <code>{r.thread_id.slice(0, 8)}</code>
                    </a>
                  </td>
                  <td className="small-text">{runError(r)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <nav className="pager" aria-label="Run pages">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Newer runs
        </button>
        <button type="button" disabled={!more} onClick={() => setOffset(offset + PAGE)}>
          Older runs
        </button>
      </nav>
    </section>
  );
}
