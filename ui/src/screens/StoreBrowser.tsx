// The Store: namespaces on the left, the items under the chosen one on the right — listed, filtered
// by value fields, or ranked by meaning (where the server has store.index) — each item's JSON, delete.
import { useCallback, useEffect, useState } from "react";
import { type JsonObject, type StoreItem, store } from "../api";
import { ErrorBox, Loading, When, pretty } from "../components/common";
import { href, navigate } from "../router";

const PAGE = 20;

export function StoreBrowser({ query }: { query: URLSearchParams }) {
  const prefix = (query.get("ns") ?? "").split(".").filter(Boolean);
  const [namespaces, setNamespaces] = useState<string[][] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    store.namespaces([]).then((r) => setNamespaces(r.namespaces), setError);
  }, []);
  return (
    <section className="store">
      <h1>Store</h1>
      <ErrorBox error={error} />
      <div className="store-panes">
        <nav aria-label="Namespaces" className="store-namespaces">
          <h2>Namespaces</h2>
          {namespaces === null ? (
            error ? null : <Loading what="namespaces" />
          ) : namespaces.length === 0 ? (
            <p className="muted">The store is empty.</p>
          ) : (
            <ul>
              <li>
                <a href={href("/store")} aria-current={prefix.length === 0 ? "page" : undefined}>
                  (all)
                </a>
              </li>
              {namespaces.map((ns) => {
                const joined = ns.join(".");
                return (
                  <li key={joined}>
                    <a href={href("/store", { ns: joined })} aria-current={joined === prefix.join(".") ? "page" : undefined}>
                      {ns.join(" / ")}
                    </a>
                  </li>
                );
              })}
            </ul>
          )}
        </nav>
        <Items key={prefix.join(".")} prefix={prefix} />
      </div>
    </section>
  );
}

function Items({ prefix }: { prefix: string[] }) {
  const [filterText, setFilterText] = useState("");
  const [queryText, setQueryText] = useState("");
  const [applied, setApplied] = useState<{ filter: JsonObject | null; query: string; offset: number }>({
    filter: null,
    query: "",
    offset: 0,
  });
  const [items, setItems] = useState<StoreItem[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    setItems(null);
    setError(null);
    store.search(prefix, applied.filter, applied.query, PAGE + 1, applied.offset).then((r) => setItems(r.items), setError);
  }, [prefix.join("."), applied]);
  useEffect(load, [load]);

  const search = (e: React.FormEvent) => {
    e.preventDefault();
    let filter: JsonObject | null = null;
    if (filterText.trim()) {
      try {
        const parsed: unknown = JSON.parse(filterText);
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error();
        filter = parsed as JsonObject;
      } catch {
        setError(new Error('The filter must be a JSON object, e.g. {"kind": "note"}'));
        return;
      }
    }
    setApplied({ filter, query: queryText.trim(), offset: 0 });
  };
  const remove = async (item: StoreItem) => {
    if (!window.confirm(`Delete item ${item.key} from ${item.namespace.join(" / ")}?`)) return;
    try {
      await store.remove(item.namespace, item.key);
      load();
    } catch (err) {
      setError(err);
    }
  };
  const id = (item: StoreItem) => `${item.namespace.join(".")}/${item.key}`;
  return (
    <div className="store-items">
      <h2>{prefix.length ? prefix.join(" / ") : "All items"}</h2>
      <form onSubmit={search} className="store-search">
        <label>
          Filter (JSON)
          <input value={filterText} onChange={(e) => setFilterText(e.target.value)} placeholder='{"kind": "note"}' />
        </label>
        <label>
          Search by meaning
          <input value={queryText} onChange={(e) => setQueryText(e.target.value)} placeholder="needs store.index" />
        </label>
        <button type="submit">Search</button>
      </form>
      <ErrorBox error={error} />
      {items === null ? (
        error ? null : <Loading what="items" />
      ) : items.length === 0 ? (
        <p className="muted">No items.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Namespace</th>
              <th>Key</th>
              <th>Updated</th>
              {applied.query ? <th>Score</th> : null}
              <th />
            </tr>
          </thead>
          <tbody>
            {items.slice(0, PAGE).map((item) => (
              <ItemRow
                key={id(item)}
                item={item}
                scored={Boolean(applied.query)}
                open={open === id(item)}
                onToggle={() => setOpen(open === id(item) ? null : id(item))}
                onDelete={() => remove(item)}
              />
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" className="small" disabled={applied.offset === 0} onClick={() => setApplied({ ...applied, offset: Math.max(0, applied.offset - PAGE) })}>
          Previous
        </button>
        <button type="button" className="small" disabled={!items || items.length <= PAGE} onClick={() => setApplied({ ...applied, offset: applied.offset + PAGE })}>
          Next
        </button>
        {prefix.length ? (
          <button type="button" className="small" onClick={() => navigate(href("/store"))}>
            All namespaces
          </button>
        ) : null}
      </div>
    </div>
  );
}

function ItemRow(props: { item: StoreItem; scored: boolean; open: boolean; onToggle: () => void; onDelete: () => void }) {
  const { item, scored, open } = props;
  return (
    <>
      <tr>
        <td>{item.namespace.join(" / ")}</td>
        <td>
          <code>{item.key}</code>
        </td>
        <td>
          <When iso={item.updated_at} />
        </td>
        {scored ? <td>{item.score === null || item.score === undefined ? "—" : item.score.toFixed(3)}</td> : null}
        <td className="actions">
          <button type="button" className="small" aria-expanded={open} onClick={props.onToggle}>
            {open ? "Hide" : "View"}
          </button>
          <button type="button" className="small danger" onClick={props.onDelete} aria-label={`Delete ${item.key}`}>
            Delete
          </button>
        </td>
      </tr>
      {open ? (
        <tr>
          <td colSpan={scored ? 5 : 4}>
            <pre className="json" aria-label={`Value of ${item.key}`}>{pretty(item.value)}</pre>
          </td>
        </tr>
      ) : null}
    </>
  );
}
