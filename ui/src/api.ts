// The graphdock JSON API, as the UI uses it: same origin, `{"detail": ...}` errors, the stored
// credential on every call, and a 401 from any call announced to the frame (which asks to sign in).

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Assistant {
  assistant_id: string;
  graph_id: string;
  config: JsonObject;
  context: JsonObject;
  metadata: JsonObject;
  name: string;
  description: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  /** graphdock, on search items: versions kept, and the number the next update gets. */
  version_count?: number | null;
  next_version?: number | null;
}

export interface RunStats {
  runs: number;
  errors: number;
  p50_duration_ms: number | null;
  p95_duration_ms: number | null;
  last_run_at: string | null;
}

export interface VersionSummary {
  assistant_id: string;
  version: number;
  version_count: number;
  next_version: number;
}

export interface Run {
  run_id: string;
  thread_id: string;
  assistant_id: string;
  created_at: string;
  updated_at: string;
  status: string;
  metadata: JsonObject;
  kwargs: JsonObject;
  assistant_version: number | null;
  error: { error?: string; message?: string } | null;
}

export interface Thread {
  thread_id: string;
  created_at: string;
  updated_at: string;
  metadata: JsonObject;
  status: string;
  values: Json;
  interrupts: { [taskId: string]: { value?: Json; id?: string }[] };
}

export interface Checkpoint {
  values: Json;
  next: string[];
  checkpoint: { checkpoint_id: string; thread_id?: string; checkpoint_ns?: string };
  parent_checkpoint: { checkpoint_id: string } | null;
  metadata: JsonObject;
  created_at: string;
  tasks: { id: string; name: string; interrupts?: { value?: Json }[] }[];
}

export interface Version extends Omit<Assistant, "updated_at"> {
  change?: string | null;
  changed_by?: string | null;
  restored_from?: number | null;
  run_stats?: RunStats | null;
}

export interface Change {
  field: string;
  path: string[];
  kind: "added" | "removed" | "changed";
  old?: Json;
  new?: Json;
}

export interface Diff {
  assistant_id: string;
  from_version: number;
  to_version: number;
  changes: Change[];
}

export interface Schemas {
  graph_id: string;
  input_schema: JsonObject | null;
  output_schema: JsonObject | null;
  state_schema: JsonObject | null;
  config_schema: JsonObject | null;
  context_schema: JsonObject | null;
}

export interface GraphJson {
  nodes: { id: string; data?: Json; type?: string }[];
  edges: { source: string; target: string; conditional?: boolean; data?: Json }[];
}

/** How the key or token is sent: `x-api-key: <value>` (built-in API keys, both SDKs'
 * `api_key=`) or `Authorization: Bearer <value>` (what custom auth usually reads). */
export type CredentialHeader = "x-api-key" | "bearer";

export interface Credential {
  header: CredentialHeader;
  value: string;
}

const CREDENTIAL_STORAGE = "graphdock.credential";

export function getCredential(): Credential | null {
  try {
    const stored = JSON.parse(localStorage.getItem(CREDENTIAL_STORAGE) ?? "null");
    if (!stored || typeof stored.value !== "string" || !stored.value) return null;
    return { header: stored.header === "bearer" ? "bearer" : "x-api-key", value: stored.value };
  } catch {
    return null;
  }
}

export function setCredential(credential: Credential | null): void {
  if (credential) localStorage.setItem(CREDENTIAL_STORAGE, JSON.stringify(credential));
  else localStorage.removeItem(CREDENTIAL_STORAGE);
}

let unauthorized: (error: ApiError) => void = () => {};

/** The frame's listener for 401s (one frame, so one listener); returns its removal. */
export function onUnauthorized(listener: (error: ApiError) => void): () => void {
  unauthorized = listener;
  return () => {
    unauthorized = () => {};
  };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    /** Where a 422's problem is, as the server says it (`["context", "model_name"]`). */
    readonly loc: (string | number)[] | null = null,
  ) {
    super(`${status}: ${detail}`);
  }
}

function headers(ifMatch?: number, credential = getCredential()): Record<string, string> {
  const h: Record<string, string> = { "content-type": "application/json" };
  if (credential?.header === "bearer") h["authorization"] = `Bearer ${credential.value}`;
  else if (credential) h["x-api-key"] = credential.value;
  if (ifMatch !== undefined) h["if-match"] = `"${ifMatch}"`;
  return h;
}

async function failure(response: Response): Promise<ApiError> {
  let detail = response.statusText || "Request failed";
  let loc: (string | number)[] | null = null;
  try {
    const body = await response.json();
    if (body && typeof body.detail !== "undefined") {
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    }
    if (body && Array.isArray(body.loc)) loc = body.loc;
  } catch {
    // not JSON: keep the status text
  }
  const error = new ApiError(response.status, detail, loc);
  if (error.status === 401) unauthorized(error);
  return error;
}

export interface Reply<T> {
  data: T;
  headers: Headers;
}

/** Where the API is: the page's own path, so that under `http.mount_prefix` (the page at
 * `/prefix/`) requests go to `/prefix/assistants`…, and at the root to `/assistants`…. */
export const API_BASE = window.location.pathname.replace(/\/+$/, "");

export async function request<T>(
  method: string,
  path: string,
  body?: unknown,
  ifMatch?: number,
  credential?: Credential,
): Promise<Reply<T>> {
  let response: Response;
  try {
    response = await fetch(API_BASE + path, {
      method,
      headers: headers(ifMatch, credential),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "The server could not be reached");
  }
  if (!response.ok) throw await failure(response);
  const data = response.status === 204 ? (null as T) : ((await response.json()) as T);
  return { data, headers: response.headers };
}

export async function call<T>(method: string, path: string, body?: unknown, ifMatch?: number): Promise<T> {
  return (await request<T>(method, path, body, ifMatch)).data;
}

const a = (id: string) => `/assistants/${encodeURIComponent(id)}`;
const t = (id: string) => `/threads/${encodeURIComponent(id)}`;

function qs(query: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  return params.toString();
}

export const assistants = {
  get: (id: string) => call<Assistant>("GET", a(id)),
  create: (body: JsonObject) => call<Assistant>("POST", "/assistants", body),
  update: (id: string, body: JsonObject, ifMatch: number) => call<Assistant>("PATCH", a(id), body, ifMatch),
  remove: (id: string, deleteThreads: boolean) =>
    call<null>("DELETE", `${a(id)}?delete_threads=${deleteThreads}`),
  search: (body: JsonObject) => request<Assistant[]>("POST", "/assistants/search", body),
  count: (body: JsonObject) => call<number>("POST", "/assistants/count", body),
  versions: (id: string, limit: number, offset: number) =>
    call<Version[]>("POST", `${a(id)}/versions`, { limit, offset }),
  summary: (id: string) => call<VersionSummary>("GET", `${a(id)}/versions/summary`),
  runs: (id: string, query: { version?: number; status?: string; limit: number; offset: number }) =>
    request<Run[]>("GET", `${a(id)}/runs?${qs(query)}`),
  version: (id: string, v: number) => call<Version>("GET", `${a(id)}/versions/${v}`),
  setLatest: (id: string, version: number, ifMatch: number) =>
    call<Assistant>("POST", `${a(id)}/latest`, { version }, ifMatch),
  restore: (id: string, v: number, ifMatch: number) =>
    call<Assistant>("POST", `${a(id)}/versions/${v}/restore`, undefined, ifMatch),
  deleteVersion: (id: string, v: number, ifMatch: number) =>
    call<null>("DELETE", `${a(id)}/versions/${v}`, undefined, ifMatch),
  diff: (id: string, from: number, to: number) => call<Diff>("GET", `${a(id)}/diff?from=${from}&to=${to}`),
  schemas: (id: string) => call<Schemas>("GET", `${a(id)}/schemas`),
  graph: (id: string) => call<GraphJson>("GET", `${a(id)}/graph`),
};

export interface Cron {
  cron_id: string;
  assistant_id: string;
  thread_id: string | null;
  schedule: string;
  timezone: string | null;
  end_time: string | null;
  enabled: boolean;
  on_run_completed: string | null;
  payload: JsonObject;
  metadata: JsonObject;
  next_run_date: string | null;
  created_at: string;
  updated_at: string;
}

export interface Run {
  run_id: string;
  thread_id: string;
  status: string;
  created_at: string;
  assistant_version: number | null;
}

const c = (id: string) => `/runs/crons/${encodeURIComponent(id)}`;

export const crons = {
  search: (assistantId: string) =>
    call<Cron[]>("POST", "/runs/crons/search", { assistant_id: assistantId, limit: 100, sort_by: "created_at", sort_order: "asc" }),
  create: (body: JsonObject) => call<Cron>("POST", "/runs/crons", body),
  update: (id: string, body: JsonObject) => call<Cron>("PATCH", c(id), body),
  remove: (id: string) => call<null>("DELETE", c(id)),
  history: (id: string) => call<Run[]>("GET", `${c(id)}/runs?limit=20`),
};

/** Whether the server accepts a key or token, before it is stored: a 401 throws. Any API route
 * authenticates; counting is a cheap one. Other refusals (a 403) still mean it authenticated. */
export async function checkCredential(credential: Credential): Promise<void> {
  try {
    await request<number>("POST", "/assistants/count", {}, undefined, credential);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) throw e;
  }
}

/** Every version of an assistant (up to 1000), newest first: for version pickers. */
export async function allVersions(id: string): Promise<Version[]> {
  return assistants.versions(id, 1000, 0);
}

/** The graphs this server serves: each has a default assistant made at start-up. */
export async function graphIds(): Promise<string[]> {
  const { data } = await assistants.search({ metadata: { created_by: "system" }, limit: 1000 });
  return [...new Set(data.map((x) => x.graph_id))].sort();
}

export interface StreamEvent {
  event: string;
  data: Json;
}

/** POST a run and read its server-sent events as they come (EventSource cannot POST). */
export async function streamRun(
  threadId: string,
  body: JsonObject,
  onEvent: (event: StreamEvent) => void,
  signal?: AbortSignal,
): Promise<void> {
  const response = await fetch(`${API_BASE}/threads/${encodeURIComponent(threadId)}/runs/stream`, {
    method: "POST",
    headers: headers(),
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok || !response.body) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) {
        let parsed: Json;
        try {
          parsed = JSON.parse(data.join("\n")) as Json;
        } catch {
          parsed = data.join("\n");
        }
        onEvent({ event, data: parsed });
      }
    }
  }
}

export const threads = {
  create: (metadata: JsonObject) => call<{ thread_id: string }>("POST", "/threads", { metadata }),
  get: (id: string) => call<Thread>("GET", t(id)),
  search: (body: JsonObject) => request<Thread[]>("POST", "/threads/search", body),
  history: (id: string, limit: number) => call<Checkpoint[]>("POST", `${t(id)}/history`, { limit }),
  runs: (id: string) => call<Run[]>("GET", `${t(id)}/runs?limit=20`),
  run: (threadId: string, runId: string) => call<Run>("GET", `${t(threadId)}/runs/${encodeURIComponent(runId)}`),
  startRun: (threadId: string, body: JsonObject) => call<Run>("POST", `${t(threadId)}/runs`, body),
  join: (threadId: string, runId: string) => call<Json>("GET", `${t(threadId)}/runs/${encodeURIComponent(runId)}/join`),
};

export interface StoreItem {
  namespace: string[];
  key: string;
  value: JsonObject;
  created_at: string;
  updated_at: string;
  score?: number | null;
}

export const store = {
  namespaces: (prefix: string[], limit = 1000) =>
    call<{ namespaces: string[][] }>("POST", "/store/namespaces", prefix.length ? { prefix, limit } : { limit }),
  search: (namespacePrefix: string[], filter: JsonObject | null, query: string, limit: number, offset: number) =>
    call<{ items: StoreItem[] }>("POST", "/store/items/search", {
      namespace_prefix: namespacePrefix,
      ...(filter && Object.keys(filter).length ? { filter } : {}),
      ...(query ? { query } : {}),
      limit,
      offset,
    }),
  remove: (namespace: string[], key: string) => call<null>("DELETE", "/store/items", { namespace, key }),
};
