// The version history: page through it, view one version read-only, make it active (set_latest),
// restore it as a new version, delete it, or compare it with the active one.
import { useEffect, useState } from "react";
import { type Assistant, assistants, type RunStats, type Version } from "../api";
import { duration, ErrorBox, Loading, pretty, When } from "../components/common";
import { href, navigate } from "../router";
import { VersionRuns } from "./VersionRuns";

const PAGE = 10;

function changeText(v: Version): string {
  if (v.change === "restore" && v.restored_from) return `restored from version ${v.restored_from}`;
  return v.change ?? "—";
}

function failing(stats: RunStats | null | undefined): boolean {
  return !!stats && stats.errors > 0;
}

/** Where to roll back to from a failing active version: the newest older version on this page
 * whose runs failed less often (one that nothing ran counts as not failing). */
function rollbackTarget(rows: Version[], active: number): Version | null {
  const rate = (v: Version) => (v.run_stats && v.run_stats.runs ? v.run_stats.errors / v.run_stats.runs : 0);
  const current = rows.find((v) => v.version === active);
  if (!current || !failing(current.run_stats)) return null;
  return rows.filter((v) => v.version < active && rate(v) < rate(current)).sort((x, y) => y.version - x.version)[0] ?? null;
}

function RollBack({ assistant, rows, onChanged }: { assistant: Assistant; rows: Version[]; onChanged: (v?: number) => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const current = rows.find((v) => v.version === assistant.version);
  const target = rollbackTarget(rows, assistant.version);
  if (!current?.run_stats || !failing(current.run_stats)) return null;
  const { errors, runs } = current.run_stats;
  return (
    <div className="error" role="region" aria-label="Failing version">
      <strong>Version {assistant.version} is failing:</strong> {errors} of {runs} run{runs === 1 ? "" : "s"} ended in an error.{" "}
      {target ? (
        <>
          Version {target.version} failed in {target.run_stats?.errors ?? 0} of {target.run_stats?.runs ?? 0}.{" "}
          <button
            type="button"
            className="primary"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await assistants.setLatest(assistant.assistant_id, target.version, assistant.version);
                onChanged(target.version);
              } catch (e) {
                setError(e);
              } finally {
                setBusy(false);
              }
            }}
          >
            Roll back to version {target.version}
          </button>
        </>
      ) : (
        "No older version on this page did better."
      )}
      <ErrorBox error={error} title="Not rolled back" />
    </div>
  );
}

function StatsCells({ stats }: { stats: RunStats | null | undefined }) {
  if (!stats)
    return (
      <td colSpan={4} className="muted">
        —
      </td>
    );
  return (
    <>
      <td className="num">{stats.runs}</td>
      <td className={`num${stats.errors ? " bad" : ""}`}>{stats.errors}</td>
      <td className="num wide-only">
        {duration(stats.p50_duration_ms)} / {duration(stats.p95_duration_ms)}
      </td>
      <td className="wide-only">{stats.last_run_at ? <When iso={stats.last_run_at} /> : <span className="muted">never</span>}</td>
    </>
  );
}

function VersionDetail({
  assistant,
  version,
  onChanged,
}: {
  assistant: Assistant;
  version: Version;
  onChanged: (selected?: number) => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const active = version.version === assistant.version;
  const act = async (what: () => Promise<unknown>, selectAfter?: number) => {
    setBusy(true);
    setError(null);
    try {
      await what();
      onChanged(selectAfter);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="detail" aria-labelledby="version-title">
      <div className="title-row">
        <h2 id="version-title">Version {version.version}</h2>
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            checked={active}
            disabled={busy || active}
            aria-describedby="active-help"
            onChange={() => act(() => assistants.setLatest(assistant.assistant_id, version.version, assistant.version), version.version)}
          />
          <span>Active</span>
        </label>
      </div>
      <p className="help" id="active-help">
        {active
          ? "This version is active: every new run uses it. To switch, select another version and turn it on."
          : `Turning this on makes version ${version.version} the one runs use (now version ${assistant.version}). No version is changed or added.`}
      </p>
      <ErrorBox error={error} title="Not done" />
      <dl className="facts">
        <div>
          <dt>Name</dt>
          <dd>{version.name}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <When iso={version.created_at} />
          </dd>
        </div>
        <div>
          <dt>Change</dt>
          <dd>{changeText(version)}</dd>
        </div>
        <div>
          <dt>By</dt>
          <dd>{version.changed_by ?? <span className="muted">unknown (no auth)</span>}</dd>
        </div>
      </dl>
      <p>{version.description ?? <span className="muted">No description</span>}</p>
      <h3>Graph</h3>
      <p>{version.graph_id}</p>
      <h3>Config</h3>
      <pre className="json" aria-label={`Config at version ${version.version}`}>{pretty(version.config)}</pre>
      <h3>Context</h3>
      <pre className="json" aria-label={`Context at version ${version.version}`}>{pretty(version.context)}</pre>
      <h3>Metadata</h3>
      <pre className="json">{pretty(version.metadata)}</pre>
      <div className="row wrap">
        {!active ? (
          <a className="button" href={href(`/assistants/${assistant.assistant_id}/diff`, { from: version.version, to: assistant.version })}>
            Compare with active (version {assistant.version})
          </a>
        ) : null}
        <button
          type="button"
          disabled={busy}
          onClick={() => act(() => assistants.restore(assistant.assistant_id, version.version, assistant.version))}
        >
          Restore as new version
        </button>
        <button
          type="button"
          className="danger"
          disabled={busy || active}
          title={active ? "The active version cannot be deleted; make another one active first" : undefined}
          onClick={() => {
            if (window.confirm(`Delete version ${version.version}? Its number is never reused.`))
              act(() => assistants.deleteVersion(assistant.assistant_id, version.version, assistant.version), -1);
          }}
        >
          Delete version {version.version}
        </button>
      </div>
    </section>
  );
}

export function Versions({
  assistant,
  onChanged,
  query,
}: {
  assistant: Assistant;
  onChanged: () => Promise<unknown>;
  query: URLSearchParams;
}) {
  const offset = Math.max(0, Number(query.get("offset") ?? 0) || 0);
  const selected = Number(query.get("v") ?? 0) || null;
  const [rows, setRows] = useState<Version[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    // One more than a page: whether a next page exists, without a count route.
    assistants.versions(assistant.assistant_id, PAGE + 1, offset).then(
      (found) => {
        if (!live) return;
        setRows(found.slice(0, PAGE));
        setMore(found.length > PAGE);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [assistant.assistant_id, offset, tick, assistant.version]);

  const go = (params: Record<string, number | null>) =>
    navigate(href(`/assistants/${assistant.assistant_id}/versions`, { offset: offset || null, v: selected, ...params }));

  const [detail, setDetail] = useState<Version | null>(null);
  useEffect(() => {
    if (!selected) return setDetail(null);
    const inPage = rows?.find((r) => r.version === selected);
    if (inPage) return setDetail(inPage);
    assistants.version(assistant.assistant_id, selected).then(setDetail, setError);
  }, [selected, rows, assistant.assistant_id]);

  const changed = async (select?: number) => {
    await onChanged();
    setTick((t) => t + 1);
    if (select === -1) go({ v: null });
    else if (select) go({ v: select });
  };

  if (error) return <ErrorBox error={error} title="Could not load versions" />;
  if (!rows) return <Loading what="versions" />;
  return (
    <div className="versions">
      <RollBack assistant={assistant} rows={rows} onChanged={changed} />
      <div className="table-wrap">
        <table>
          <caption className="sr-only">Versions of {assistant.name}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Select</th>
              <th scope="col">Version</th>
              <th scope="col" className="wide-only">Created</th>
              <th scope="col">Name / description</th>
              <th scope="col" className="wide-only">Change</th>
              <th scope="col" className="wide-only">By</th>
              <th scope="col">Runs</th>
              <th scope="col">Errors</th>
              <th scope="col" className="wide-only">p50 / p95</th>
              <th scope="col" className="wide-only">Last run</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((v) => (
              <tr key={v.version} className={v.version === selected ? "selected" : undefined}>
                <td>
                  <input
                    type="radio"
                    name="version"
                    aria-label={`Select version ${v.version}`}
                    checked={v.version === selected}
                    onChange={() => go({ v: v.version })}
                  />
                </td>
                <td>
                  {v.version} {v.version === assistant.version ? <span className="badge active">active</span> : null}
                </td>
                <td className="wide-only">
                  <When iso={v.created_at} />
                </td>
                <td>
                  {v.name}
                  {v.description ? <div className="muted small-text">{v.description}</div> : null}
                </td>
                <td className="wide-only">{changeText(v)}</td>
                <td className="wide-only">{v.changed_by ?? <span className="muted">—</span>}</td>
                <StatsCells stats={v.run_stats} />
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Version pages">
        <button type="button" disabled={offset === 0} onClick={() => go({ offset: Math.max(0, offset - PAGE) || null })}>
          Newer
        </button>
        <span>
          {rows.length ? `${offset + 1}–${offset + rows.length}` : "none"}
        </span>
        <button type="button" disabled={!more} onClick={() => go({ offset: offset + PAGE })}>
          Older
        </button>
      </nav>
      {detail ? (
        <>
          <VersionDetail assistant={assistant} version={detail} onChanged={changed} />
          <VersionRuns key={`${detail.version}-${tick}`} assistant={assistant} version={detail.version} />
        </>
      ) : (
        <p className="muted">Select a version to view it, make it active, restore or delete it.</p>
      )}
    </div>
  );
}
