// The configuration form, generated from the graph's JSON Schema by react-jsonschema-form:
// enums become selects, defaults are prefilled, descriptions are help text, required fields are
// marked, and nested objects/arrays get a JSON editor (a custom field below).
import Form from "@rjsf/core";
import type { ErrorSchema, FieldProps, RJSFSchema, RJSFValidationError, UiSchema } from "@rjsf/utils";
import validator from "@rjsf/validator-ajv8";
import { type RefObject, useState } from "react";
import type { JsonObject } from "../api";

function JsonField({ formData, onChange, fieldPathId, schema, name, required, rawErrors }: FieldProps) {
  const [text, setText] = useState(() => JSON.stringify(formData ?? (schema.type === "array" ? [] : {}), null, 2));
  const [problem, setProblem] = useState<string | null>(null);
  const id = fieldPathId.$id;
  const errors = [...(problem ? [problem] : []), ...(rawErrors ?? [])];
  return (
    <div className="field">
      <label htmlFor={id}>
        {schema.title ?? name}
        {required ? <span className="required">*</span> : null} <span className="muted">(JSON)</span>
      </label>
      {schema.description ? <p className="help">{schema.description}</p> : null}
      <textarea
        id={id}
        className="mono"
        rows={5}
        spellCheck={false}
        value={text}
        aria-invalid={errors.length ? true : undefined}
        onChange={(e) => {
          setText(e.target.value);
          try {
            onChange(JSON.parse(e.target.value || "null"), fieldPathId.path);
            setProblem(null);
          } catch (err) {
            setProblem(`Not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
          }
        }}
      />
      {errors.map((e) => (
        <p key={e} className="field-error" role="alert">
          {e}
        </p>
      ))}
    </div>
  );
}

const LONG_TEXT = /prompt|instruction|template|message|description/i;

const SCALARS = ["string", "number", "integer", "boolean"];

function isNested(schema: RJSFSchema): boolean {
  // A $ref points into $defs, which pydantic uses for nested models.
  if (schema.$ref || schema.type === "object" || schema.properties || schema.additionalProperties) return true;
  // Lists too: RJSF's list editor needs an icon font (offline, there is none), and JSON is clearer.
  if (schema.type === "array" || schema.items) return true;
  // Unions have no good widget: edit them as JSON (`X | None` for a scalar X is simplified first).
  return !!(schema.anyOf ?? schema.oneOf);
}

/** `X | None` with a scalar X (pydantic's Optional) as plain X: an empty field leaves the key out,
 * so the graph's own default (None) applies; setting an explicit null stays possible in raw JSON. */
export function simplified(schema: RJSFSchema): RJSFSchema {
  const properties: Record<string, RJSFSchema> = {};
  for (const [key, raw] of Object.entries(schema.properties ?? {})) {
    let prop = raw as RJSFSchema;
    const union = (prop.anyOf ?? prop.oneOf) as RJSFSchema[] | undefined;
    const real = union?.filter((s) => s.type !== "null") ?? [];
    if (union && real.length === 1 && real.length < union.length && SCALARS.includes(String(real[0].type)) && !real[0].$ref) {
      const { anyOf: _a, oneOf: _o, default: fallback, ...rest } = prop;
      prop = { ...rest, ...real[0], ...(fallback === null || fallback === undefined ? {} : { default: fallback }) };
    }
    properties[key] = prop;
  }
  return { ...schema, properties };
}

/** Widgets per top-level property: long prose as text areas, nested values as JSON. */
export function uiSchemaFor(schema: RJSFSchema): UiSchema {
  const ui: UiSchema = { "ui:submitButtonOptions": { norender: true } };
  for (const [key, raw] of Object.entries(schema.properties ?? {})) {
    if (typeof raw !== "object") continue;
    const prop = raw as RJSFSchema;
    if (isNested(prop)) ui[key] = { "ui:field": JsonField };
    else if (prop.type === "string" && !prop.enum && LONG_TEXT.test(key)) ui[key] = { "ui:widget": "textarea", "ui:options": { rows: 5 } };
  }
  return ui;
}

// The server accepts a missing required value (a run may supply it); the asterisk still shows it.
function dropRequired(errors: RJSFValidationError[]): RJSFValidationError[] {
  return errors.filter((e) => e.name !== "required");
}

export function SchemaForm({
  schema,
  data,
  onChange,
  extraErrors,
  formRef,
}: {
  schema: JsonObject;
  data: JsonObject;
  onChange: (data: JsonObject) => void;
  extraErrors?: ErrorSchema;
  formRef: RefObject<Form>;
}) {
  const rjsfSchema = simplified(schema as RJSFSchema);
  return (
    <Form
      ref={formRef}
      tagName="div"
      schema={rjsfSchema}
      uiSchema={uiSchemaFor(rjsfSchema)}
      formData={data}
      validator={validator}
      onChange={(e) => onChange((e.formData ?? {}) as JsonObject)}
      extraErrors={extraErrors}
      transformErrors={dropRequired}
      showErrorList={false}
      noHtml5Validate
      experimental_defaultFormStateBehavior={{ emptyObjectFields: "populateAllDefaults" }}
    />
  );
}

/** `context.a.b: message` (a server 422) as RJSF's error tree below the form's root. */
export function errorTree(path: string[], message: string): ErrorSchema {
  const tree: Record<string, unknown> = {};
  let node = tree;
  for (const key of path) {
    node[key] = node[key] ?? {};
    node = node[key] as Record<string, unknown>;
  }
  node.__errors = [message];
  return tree as ErrorSchema;
}
