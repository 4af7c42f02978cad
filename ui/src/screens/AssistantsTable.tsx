// Every assistant of every graph: filter by graph, name and metadata; sort; page through.
import { useEffect, useState } from "react";
import { type Assistant, assistants, graphIds, type JsonObject } from "../api";
import { CopyButton, ErrorBox, isSystem, Loading, SystemBadge, When } from "../components/common";
import { parseJson } from "../components/JsonInput";
import { href, navigate } from "../router";

const PAGE = 20;
type SortKey = "name" | "graph_id" | "created_at" | "updated_at";

function filterFrom(query: URLSearchParams): { body: JsonObject; error: string | null } {
  const body: JsonObject = {};
  const graph = query.get("graph");
  const name = query.get("name");
  const metadata = query.get("metadata");
  if (graph) body.graph_id = graph;
  if (name) body.name = name;
  if (metadata) {
    const parsed = parseJson(metadata);
    if (!parsed.ok || typeof parsed.value !== "object" || parsed.value === null || Array.isArray(parsed.value))
      return { body, error: 'The metadata filter must be a JSON object, e.g. {"team": "search"}' };
    body.metadata = parsed.value;
  }
  return { body, error: null };
}

export function AssistantsTable({ query }: { query: URLSearchParams }) {
  const sort = (query.get("sort") as SortKey | null) ?? "updated_at";
  const order = query.get("order") === "asc" ? "asc" : "desc";
  const offset = Math.max(0, Number(query.get("offset") ?? 0) || 0);
  const { body: filter, error: filterError } = filterFrom(query);
  const key = JSON.stringify([filter, sort, order, offset]);

  const [graphs, setGraphs] = useState<string[] | null>(null);
  const [rows, setRows] = useState<Assistant[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState(query.get("name") ?? "");
  const [metadata, setMetadata] = useState(query.get("metadata") ?? "");

  useEffect(() => {
    graphIds().then(setGraphs, setError);
  }, []);

  useEffect(() => {
    if (filterError) return;
    let live = true;
    setRows(null);
    setError(null);
    Promise.all([
      assistants.search({ ...filter, limit: PAGE, offset, sort_by: sort, sort_order: order }),
      assistants.count(filter),
    ]).then(
      ([page, count]) => {
        if (!live) return;
        // Each row carries its version count (graphdock's version_count): no request per row.
        setRows(page.data);
        const nextOffset = page.headers.get("X-Pagination-Next");
        setNext(nextOffset === null ? null : Number(nextOffset));
        setTotal(count);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, filterError]);

  const go = (changes: Record<string, string | number | null>) => {
    const params: Record<string, string | number | null> = Object.fromEntries(query.entries());
    navigate(href("/", { ...params, offset: null, ...changes }));
  };

  const sortHeader = (label: string, by: SortKey) => {
    const active = sort === by;
    const nextOrder = active && order === "desc" ? "asc" : "desc";
    return (
      <th scope="col" aria-sort={active ? (order === "asc" ? "ascending" : "descending") : "none"}>
        <button type="button" className="link" onClick={() => go({ sort: by, order: nextOrder })}>
          {label} {active ? (order === "asc" ? "▲" : "▼") : ""}
        </button>
      </th>
    );
  };

  const filtered = Object.keys(filter).length > 0;
  return (
    <section aria-labelledby="assistants-title">
      <div className="title-row">
        <h1 id="assistants-title">Assistants</h1>
        <a className="button primary" href={href("/new", { graph: query.get("graph") })}>
          New assistant
        </a>
      </div>
      <form
        className="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          go({ name: name.trim() || null, metadata: metadata.trim() || null });
        }}
      >
        <div className="field">
          <label htmlFor="filter-graph">Graph</label>
          <select id="filter-graph" value={query.get("graph") ?? ""} onChange={(e) => go({ graph: e.target.value || null })}>
            <option value="">All graphs</option>
            {(graphs ?? []).map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-name">Name contains</label>
          <input id="filter-name" type="search" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field grow">
          <label htmlFor="filter-metadata">Metadata (JSON, matches by containment)</label>
          <input
            id="filter-metadata"
            className="mono"
            placeholder='{"team": "search"}'
            value={metadata}
            onChange={(e) => setMetadata(e.target.value)}
          />
        </div>
        <div className="field">
          <button type="submit">Filter</button>
        </div>
      </form>
      {filterError ? <ErrorBox error={new Error(filterError)} /> : null}
      <ErrorBox error={error} title="Could not load assistants" />
      {rows === null && !error && !filterError ? <Loading what="assistants" /> : null}
      {rows !== null && rows.length === 0 ? (
        <div className="empty">
          {filtered ? (
            <p>
              No assistant matches these filters. <a href={href("/")}>Clear the filters</a> or change them above.
            </p>
          ) : (
            <p>
              No assistants yet. graphdock makes a default one per graph at start-up; if there are none, check
              that your <code>langgraph.json</code> lists graphs. Or <a href={href("/new")}>create an assistant</a>.
            </p>
          )}
        </div>
      ) : null}
      {rows !== null && rows.length > 0 ? (
        <>
          <div className="table-wrap">
            <table className="assistants">
              <caption className="sr-only">Assistants, sorted by {sort} {order === "asc" ? "ascending" : "descending"}</caption>
              <thead>
                <tr>
                  {sortHeader("Name", "name")}
                  {sortHeader("Graph", "graph_id")}
                  <th scope="col">Assistant ID</th>
                  <th scope="col">Active version</th>
                  <th scope="col" className="wide-only">Description</th>
                  {sortHeader("Updated", "updated_at")}
                </tr>
              </thead>
              <tbody>
                {rows.map((x) => (
                  <tr key={x.assistant_id}>
                    <td data-label="Name">
                      <a href={href(`/assistants/${x.assistant_id}`)}>{x.name}</a>{" "}
                      {isSystem(x.metadata) ? <SystemBadge /> : null}
                    </td>
                    <td data-label="Graph">{x.graph_id}</td>
                    <td data-label="ID" className="id-cell">
                      <code title={x.assistant_id}>{x.assistant_id.slice(0, 8)}…</code>{" "}
                      <CopyButton text={x.assistant_id} label={`Copy the ID of ${x.name}`} />
                    </td>
                    <td data-label="Active version">
                      <span className="version-cell">
                        v{x.version}
                        <span className="muted">
                          {" "}
                          of {x.version_count ?? "…"} version{x.version_count === 1 ? "" : "s"}
                        </span>
                      </span>
                    </td>
                    <td data-label="Description" className="wide-only description">
                      {x.description ?? <span className="muted">—</span>}
                    </td>
                    <td data-label="Updated">
                      <When iso={x.updated_at} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages">
            <button type="button" disabled={offset === 0} onClick={() => go({ offset: Math.max(0, offset - PAGE) || null })}>
              Previous
            </button>
            <span role="status">
              {offset + 1}–{offset + rows.length} of {total ?? "…"}
            </span>
            <button type="button" disabled={next === null} onClick={() => go({ offset: next })}>
              Next
            </button>
          </nav>
        </>
      ) : null}
    </section>
  );
}
