// Threads: search by assistant, graph, status and metadata (POST /threads/search), paged; each
// opens its thread. The filters live in the URL, so a search can be linked to.
import { useEffect, useState } from "react";
import { type Assistant, assistants, graphIds, type JsonObject, type Thread, threads } from "../api";
import { ErrorBox, Loading, StatusBadge, When } from "../components/common";
import { href, navigate } from "../router";

const PAGE = 20;
const STATUSES = ["", "idle", "busy", "interrupted", "error"];

function parseMetadata(text: string): JsonObject | string {
  if (!text.trim()) return {};
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as JsonObject;
    return "Metadata must be a JSON object, like {\"team\": \"support\"}";
  } catch {
    return "Metadata is not valid JSON";
  }
}

export function ThreadsList({ query }: { query: URLSearchParams }) {
  const assistantId = query.get("assistant") ?? "";
  const graph = query.get("graph") ?? "";
  const status = query.get("status") ?? "";
  const metadataText = query.get("metadata") ?? "";
  const offset = Math.max(0, Number(query.get("offset") ?? 0) || 0);
  const [metadataDraft, setMetadataDraft] = useState(metadataText);
  const [known, setKnown] = useState<Assistant[]>([]);
  const [graphs, setGraphs] = useState<string[]>([]);
  const [rows, setRows] = useState<Thread[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const parsed = parseMetadata(metadataText);

  useEffect(() => {
    assistants.search({ limit: 100, sort_by: "name", sort_order: "asc" }).then((r) => setKnown(r.data), setError);
    graphIds().then(setGraphs, setError);
  }, []);

  useEffect(() => {
    if (typeof parsed === "string") return;
    let live = true;
    setRows(null);
    setError(null);
    const metadata: JsonObject = { ...parsed };
    if (assistantId) metadata.assistant_id = assistantId;
    if (graph) metadata.graph_id = graph;
    const body: JsonObject = { metadata, limit: PAGE, offset, sort_by: "updated_at" };
    if (status) body.status = status;
    threads.search(body).then(
      (reply) => {
        if (!live) return;
        setRows(reply.data);
        const n = reply.headers.get("X-Pagination-Next");
        setNext(n === null ? null : Number(n));
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [assistantId, graph, status, metadataText, offset]);

  const go = (changes: Record<string, string | number | null>) => {
    const params: Record<string, string | number | null> = Object.fromEntries(query.entries());
    navigate(href("/threads", { ...params, offset: null, ...changes }));
  };
  const nameOf = (id: unknown) => known.find((a) => a.assistant_id === id)?.name ?? (typeof id === "string" ? id.slice(0, 8) : "—");

  return (
    <section aria-labelledby="threads-title">
      <h1 id="threads-title">Threads</h1>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ metadata: metadataDraft.trim() || null });
        }}
      >
        <div className="field">
          <label htmlFor="threads-assistant">Assistant</label>
          <select id="threads-assistant" value={assistantId} onChange={(e) => go({ assistant: e.target.value || null })}>
            <option value="">any</option>
            {known.map((a) => (
              <option key={a.assistant_id} value={a.assistant_id}>
                {a.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="threads-graph">Graph</label>
          <select id="threads-graph" value={graph} onChange={(e) => go({ graph: e.target.value || null })}>
            <option value="">any</option>
            {graphs.map((g) => (
              <option key={g}>{g}</option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="threads-status">Status</label>
          <select id="threads-status" value={status} onChange={(e) => go({ status: e.target.value || null })}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </div>
        <div className="field grow">
          <label htmlFor="threads-metadata">Metadata (JSON)</label>
          <input
            id="threads-metadata"
            value={metadataDraft}
            placeholder='{"team": "support"}'
            onChange={(e) => setMetadataDraft(e.target.value)}
          />
        </div>
        <button type="submit">Search</button>
      </form>
      {typeof parsed === "string" ? <div className="error" role="alert">{parsed}</div> : null}
      <ErrorBox error={error} title="Could not search threads" />
      {!rows && !error && typeof parsed !== "string" ? <Loading what="threads" /> : null}
      {rows && !rows.length ? <p className="empty">No thread matches these filters.</p> : null}
      {rows && rows.length ? (
        <div className="table-wrap">
          <table aria-label="Threads">
            <thead>
              <tr>
                <th scope="col">Thread</th>
                <th scope="col">Status</th>
                <th scope="col">Assistant</th>
                <th scope="col">Graph</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.thread_id}>
                  <td className="id-cell">
                    <a href={href(`/threads/${t.thread_id}`)}>
                      <code>{t.thread_id}</code>
                    </a>
                  </td>
                  <td>
                    <StatusBadge status={t.status} />
                  </td>
                  <td>{t.metadata.assistant_id ? nameOf(t.metadata.assistant_id) : <span className="muted">—</span>}</td>
                  <td>{typeof t.metadata.graph_id === "string" ? t.metadata.graph_id : <span className="muted">—</span>}</td>
                  <td>
                    <When iso={t.updated_at} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <nav className="pager" aria-label="Thread pages">
        <button type="button" disabled={offset === 0} onClick={() => go({ offset: Math.max(0, offset - PAGE) || null })}>
          Newer
        </button>
        <button type="button" disabled={next === null} onClick={() => go({ offset: next })}>
          Older
        </button>
      </nav>
    </section>
  );
}
