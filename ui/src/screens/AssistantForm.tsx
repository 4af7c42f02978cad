// Create an assistant, or edit one (each save appends a version and makes it active).
import type Form from "@rjsf/core";
import type { ErrorSchema } from "@rjsf/utils";
import { useEffect, useRef, useState } from "react";
import { ApiError, type Assistant, assistants, graphIds, type Json, type JsonObject, type Schemas } from "../api";
import { ErrorBox, Loading } from "../components/common";
import { JsonInput } from "../components/JsonInput";
import { errorTree, SchemaForm } from "../components/SchemaForm";
import { href, navigate } from "../router";

type Target = "context" | "configurable" | null;

const isObject = (v: Json | undefined): v is JsonObject => !!v && typeof v === "object" && !Array.isArray(v);

function withoutConfigurable(config: JsonObject): JsonObject {
  const { configurable: _omit, ...rest } = config;
  return rest;
}

/** Which value the generated form edits: the context when the graph has a context schema. */
function targetOf(schemas: Schemas | null): { target: Target; schema: JsonObject | null } {
  if (schemas?.context_schema) return { target: "context", schema: schemas.context_schema };
  const config = schemas?.config_schema;
  if (config && isObject(config.properties as Json) && Object.keys(config.properties as JsonObject).length)
    return { target: "configurable", schema: config };
  return { target: null, schema: null };
}

const FIELDS = ["context", "config", "metadata", "name", "description", "graph_id"];

/** Where a server 422 belongs, from the `loc` it sends beside `detail`: ["context", "model_name"]
 * → context, [model_name]; ["config", "configurable", "x"] → config.configurable, [x]. */
function placeError(error: ApiError): { field: string; path: string[]; message: string } | null {
  const loc = (error.loc ?? []).map(String);
  if (!loc.length || !FIELDS.includes(loc[0])) return null;
  const field = loc[0] === "config" && loc[1] === "configurable" ? "config.configurable" : loc[0];
  const path = loc.slice(field === "config.configurable" ? 2 : 1);
  // `detail` is "<the same path, dotted>: <message>": keep the message.
  const prefix = `${loc.join(".")}: `;
  const message = error.detail.startsWith(prefix) ? error.detail.slice(prefix.length) : error.detail;
  return { field, path, message };
}

export function AssistantForm({ assistantId, graph: initialGraph }: { assistantId?: string; graph?: string }) {
  const editing = assistantId !== undefined;
  const [current, setCurrent] = useState<Assistant | null>(null);
  const [nextVersion, setNextVersion] = useState<number | null>(editing ? null : 1);
  const [graphs, setGraphs] = useState<string[] | null>(null);
  const [graph, setGraph] = useState(initialGraph ?? "");
  const [schemas, setSchemas] = useState<Schemas | null>(null);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [config, setConfig] = useState<JsonObject>({});
  const [context, setContext] = useState<JsonObject>({});
  const [metadata, setMetadata] = useState<JsonObject>({});
  const [raw, setRaw] = useState(false);
  const [invalidJson, setInvalidJson] = useState<Record<string, boolean>>({});
  const [loadError, setLoadError] = useState<unknown>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [formErrors, setFormErrors] = useState<ErrorSchema | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const formRef = useRef<Form>(null);

  useEffect(() => {
    graphIds().then((ids) => {
      setGraphs(ids);
      if (!editing && !initialGraph && ids.length) setGraph(ids[0]);
    }, setLoadError);
    if (!editing) return;
    // The next number comes from the server: numbers are never reused, so after the newest
    // version was deleted it is not max(kept) + 1.
    Promise.all([assistants.get(assistantId), assistants.summary(assistantId)]).then(([a, summary]) => {
      setCurrent(a);
      setGraph(a.graph_id);
      setName(a.name);
      setDescription(a.description ?? "");
      setConfig(a.config);
      setContext(a.context);
      setMetadata(a.metadata);
      setNextVersion(summary.next_version);
    }, setLoadError);
  }, [assistantId, editing, initialGraph]);

  useEffect(() => {
    if (!graph) return;
    setSchemas(null);
    // The schemas route takes a graph id in place of an assistant id only for /graph; use the
    // graph's default assistant (uuid5 of the graph id), found by searching for it.
    assistants
      .search({ graph_id: graph, metadata: { created_by: "system" }, limit: 1 })
      .then(({ data }) => (data.length ? assistants.schemas(data[0].assistant_id) : Promise.reject(new Error(`No default assistant for graph ${graph}`))))
      .then(setSchemas, setLoadError);
  }, [graph]);

  const { target, schema } = targetOf(schemas);
  const formData: JsonObject = target === "context" ? context : target === "configurable" && isObject(config.configurable) ? config.configurable : {};
  const setFormData = (data: JsonObject) =>
    target === "context" ? setContext(data) : setConfig({ ...config, configurable: data });

  const jsonChange = (key: string, set: (v: JsonObject) => void) => (value: Json, valid: boolean) => {
    setInvalidJson((s) => ({ ...s, [key]: !valid }));
    if (valid && isObject(value)) set(value);
  };

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setSaveError(null);
    setFieldErrors({});
    setFormErrors(undefined);
    if (Object.values(invalidJson).some(Boolean)) {
      setSaveError(new Error("Fix the JSON fields marked above first"));
      return;
    }
    if (!raw && schema && formRef.current && !formRef.current.validateForm()) return;
    // The complete configuration, defaults included (the form holds them even if never touched).
    const values = (!raw && formRef.current?.state.formData ? formRef.current.state.formData : formData) as JsonObject;
    const body: JsonObject = { graph_id: graph, name: name.trim(), description: description.trim() || null, metadata };
    if (target === "context") {
      // configurable mirrors context on the server; sending both non-empty is a 400.
      body.context = values;
      body.config = { ...withoutConfigurable(config), configurable: {} };
    } else if (target === "configurable") {
      body.config = { ...config, configurable: values };
    } else {
      body.config = config;
      if (Object.keys(context).length) body.context = context;
    }
    setSaving(true);
    try {
      const saved = editing && current ? await assistants.update(current.assistant_id, body, current.version) : await assistants.create(body);
      navigate(href(`/assistants/${saved.assistant_id}/versions`, { saved: saved.version }));
    } catch (err) {
      const placed = err instanceof ApiError && err.status === 422 ? placeError(err) : null;
      if (placed && !raw && ((placed.field === "context" && target === "context") || (placed.field === "config.configurable" && target !== null))) {
        setFormErrors(errorTree(placed.path, placed.message));
        setSaveError(new Error("The server rejected a value; see the field marked below"));
      } else if (placed) {
        const key = placed.field === "config.configurable" ? (target === "context" ? "context" : "config") : placed.field;
        setFieldErrors({ [key]: placed.path.length ? `${placed.path.join(".")}: ${placed.message}` : placed.message });
        setSaveError(new Error("The server rejected a value; see the field marked below"));
      } else setSaveError(err);
    } finally {
      setSaving(false);
    }
  };

  if (loadError) return <ErrorBox error={loadError} title="Could not load" />;
  if (editing && !current) return <Loading what="the assistant" />;

  const title = editing ? `Edit ${current?.name}` : "New assistant";
  const saveLabel = editing ? `Save — creates version ${nextVersion ?? "…"} and makes it active` : "Create — creates version 1";
  return (
    <section aria-labelledby="form-title">
      <p className="crumbs">
        <a href={href("/")}>Assistants</a>
        {editing && current ? (
          <>
            {" / "}
            <a href={href(`/assistants/${current.assistant_id}`)}>{current.name}</a>
          </>
        ) : null}
      </p>
      <h1 id="form-title">{title}</h1>
      {editing && current ? (
        <p className="muted">
          Currently active: version {current.version}. Saving never changes an existing version.
        </p>
      ) : null}
      <form onSubmit={save} className="assistant-form" noValidate>
        <div className="field">
          <label htmlFor="graph">Graph</label>
          <select id="graph" value={graph} disabled={!graphs} onChange={(e) => setGraph(e.target.value)}>
            {(graphs ?? []).map((g) => (
              <option key={g}>{g}</option>
            ))}
          </select>
          {fieldErrors.graph_id ? <p className="field-error" role="alert">{fieldErrors.graph_id}</p> : null}
        </div>
        <div className="field">
          <label htmlFor="name">Name</label>
          <input id="name" value={name} placeholder="Untitled" onChange={(e) => setName(e.target.value)} aria-invalid={fieldErrors.name ? true : undefined} />
          {fieldErrors.name ? <p className="field-error" role="alert">{fieldErrors.name}</p> : null}
        </div>
        <div className="field">
          <label htmlFor="description">Description</label>
          <textarea id="description" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
          {fieldErrors.description ? <p className="field-error" role="alert">{fieldErrors.description}</p> : null}
        </div>

        <fieldset className="config">
          <legend>{target === "context" ? "Context" : "Configuration"}</legend>
          <div className="row between">
            <p className="help">
              {schemas === null
                ? ""
                : target === "context"
                  ? `From the graph's context schema (${String(schema?.title ?? graph)}).`
                  : target === "configurable"
                    ? "From the graph's config schema (config.configurable)."
                    : "This graph declares no config or context schema: edit the raw JSON."}
            </p>
            {schema ? (
              <label className="toggle">
                <input type="checkbox" checked={raw} onChange={(e) => setRaw(e.target.checked)} /> Raw JSON
              </label>
            ) : null}
          </div>
          {schemas === null ? <Loading what="the graph's schema" /> : null}
          {schemas !== null && schema && !raw ? (
            <SchemaForm key={graph} schema={schema} data={formData} onChange={setFormData} extraErrors={formErrors} formRef={formRef} />
          ) : null}
          {schemas !== null && (raw || !schema) ? (
            <>
              <JsonInput
                label={target === "context" ? "config (JSON, without configurable: it mirrors context)" : "config (JSON)"}
                value={target === "context" ? withoutConfigurable(config) : config}
                onChange={jsonChange("config", setConfig)}
                error={fieldErrors.config}
                help="tags, recursion_limit, configurable, …"
              />
              <JsonInput label="context (JSON)" value={context} onChange={jsonChange("context", setContext)} error={fieldErrors.context} />
            </>
          ) : null}
        </fieldset>
        <JsonInput
          label="metadata (JSON)"
          value={metadata}
          onChange={jsonChange("metadata", setMetadata)}
          error={fieldErrors.metadata}
          rows={3}
          help={editing ? "Merged into the current metadata (keys are added or replaced, never removed)." : undefined}
        />
        <ErrorBox error={saveError} title="Not saved" />
        <div className="row">
          <button type="submit" className="primary" disabled={saving || schemas === null}>
            {saving ? "Saving…" : saveLabel}
          </button>
          <a className="button" href={editing && current ? href(`/assistants/${current.assistant_id}`) : href("/")}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
