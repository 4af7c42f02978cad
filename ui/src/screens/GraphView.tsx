// The graph (from /graph) as layered boxes and arrows in plain SVG, plus its JSON schemas.
import { useEffect, useState } from "react";
import { type Assistant, assistants, type GraphJson, type Schemas } from "../api";
import { ErrorBox, Loading, pretty } from "../components/common";

const W = 150;
const H = 36;
const GAP_X = 30;
const GAP_Y = 50;

/** Rows by breadth-first distance from __start__ (nodes it never reaches go last). */
function layout(graph: GraphJson) {
  const depth = new Map<string, number>();
  const start = graph.nodes.find((n) => n.id === "__start__")?.id ?? graph.nodes[0]?.id;
  if (start) {
    depth.set(start, 0);
    const queue = [start];
    while (queue.length) {
      const id = queue.shift()!;
      for (const e of graph.edges) {
        if (e.source === id && !depth.has(e.target)) {
          depth.set(e.target, depth.get(id)! + 1);
          queue.push(e.target);
        }
      }
    }
  }
  const maxDepth = Math.max(0, ...depth.values());
  for (const n of graph.nodes) if (!depth.has(n.id)) depth.set(n.id, n.id === "__end__" ? maxDepth + 1 : maxDepth + 1);
  const end = depth.get("__end__");
  if (end !== undefined) depth.set("__end__", Math.max(...depth.values()));
  const rows = new Map<number, string[]>();
  for (const n of graph.nodes) rows.set(depth.get(n.id)!, [...(rows.get(depth.get(n.id)!) ?? []), n.id]);
  const widest = Math.max(1, ...[...rows.values()].map((r) => r.length));
  const width = widest * (W + GAP_X) + GAP_X;
  const pos = new Map<string, { x: number; y: number }>();
  for (const [d, ids] of rows) {
    const rowWidth = ids.length * (W + GAP_X) - GAP_X;
    ids.forEach((id, i) => pos.set(id, { x: (width - rowWidth) / 2 + i * (W + GAP_X), y: GAP_Y / 2 + d * (H + GAP_Y) }));
  }
  const height = (Math.max(0, ...rows.keys()) + 1) * (H + GAP_Y);
  return { pos, width, height };
}

function label(id: string): string {
  return id === "__start__" ? "START" : id === "__end__" ? "END" : id;
}

function GraphSvg({ graph }: { graph: GraphJson }) {
  const { pos, width, height } = layout(graph);
  return (
    <svg className="graph" viewBox={`0 0 ${width} ${height}`} width={width} role="img" aria-label={`Graph with ${graph.nodes.length} nodes and ${graph.edges.length} edges`}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor" />
        </marker>
      </defs>
      {graph.edges.map((e, i) => {
        const a = pos.get(e.source);
        const b = pos.get(e.target);
        if (!a || !b) return null;
        const down = b.y > a.y;
        const x1 = a.x + W / 2;
        const y1 = down ? a.y + H : a.y;
        const x2 = b.x + W / 2;
        const y2 = down ? b.y : b.y + H;
        // Edges going back up (loops) bend out to the side so they do not hide the straight ones.
        const path = down ? `M ${x1} ${y1} L ${x2} ${y2}` : `M ${a.x + W} ${a.y + H / 2} C ${a.x + W + 60} ${a.y}, ${b.x + W + 60} ${b.y + H}, ${b.x + W} ${b.y + H / 2}`;
        return <path key={i} d={path} className={e.conditional ? "edge conditional" : "edge"} markerEnd="url(#arrow)" fill="none" />;
      })}
      {graph.nodes.map((n) => {
        const p = pos.get(n.id)!;
        const special = n.id.startsWith("__");
        return (
          <g key={n.id} transform={`translate(${p.x},${p.y})`}>
            <rect width={W} height={H} rx={special ? 18 : 6} className={special ? "node special" : "node"} />
            <text x={W / 2} y={H / 2 + 5} textAnchor="middle">
              {label(n.id)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

export function GraphView({ assistant }: { assistant: Assistant }) {
  const [graph, setGraph] = useState<GraphJson | null>(null);
  const [schemas, setSchemas] = useState<Schemas | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    assistants.graph(assistant.assistant_id).then(setGraph, setError);
    assistants.schemas(assistant.assistant_id).then(setSchemas, setError);
  }, [assistant.assistant_id]);
  return (
    <section aria-labelledby="graph-title">
      <h2 id="graph-title">Graph {assistant.graph_id}</h2>
      <ErrorBox error={error} />
      {!graph && !error ? <Loading what="the graph" /> : null}
      {graph ? (
        <>
          <div className="graph-wrap">
            <GraphSvg graph={graph} />
          </div>
          <h3>Edges</h3>
          <ul className="edges" aria-label="Edges">
            {graph.edges.map((e, i) => (
              <li key={i}>
                {label(e.source)} → {label(e.target)}
                {e.conditional ? <span className="muted"> (conditional)</span> : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h3>Schemas</h3>
      {schemas ? (
        (["config_schema", "context_schema", "input_schema", "output_schema", "state_schema"] as const).map((k) => (
          <details key={k}>
            <summary>{k}</summary>
            <pre className="json">{schemas[k] ? pretty(schemas[k]) : "none"}</pre>
          </details>
        ))
      ) : !error ? (
        <Loading what="the schemas" />
      ) : null}
    </section>
  );
}
