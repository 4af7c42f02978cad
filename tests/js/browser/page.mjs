// A page on another origin than the server: the official JS SDK, bundled by esbuild for the
// browser, drives graphdock the way agent-chat-ui does. tests/ui/test_cross_origin.py calls it.
import { Client } from "@langchain/langgraph-sdk";

window.crossOrigin = async (apiUrl, apiKey) => {
  const client = new Client({ apiUrl, apiKey: apiKey ?? null });
  const thread = await client.threads.create({ metadata: { page: window.location.origin } });
  const created = [];
  const events = [];
  let last = null;
  for await (const chunk of client.runs.stream(thread.thread_id, "echo", {
    input: { steps: ["from the browser"] },
    streamMode: "values",
    // The SDK reads the run's id from the Content-Location response header.
    onRunCreated: (meta) => created.push(meta.run_id),
  })) {
    events.push(chunk.event);
    if (chunk.event === "values") last = chunk.data;
  }
  const run = await client.runs.get(thread.thread_id, created[0]);
  const threads = await client.threads.search({ metadata: { page: window.location.origin }, limit: 10 });
  // The header itself, read by page code: only visible when the server exposes it.
  const raw = await fetch(`${apiUrl}/threads/${thread.thread_id}/runs`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(apiKey ? { "x-api-key": apiKey } : {}) },
    body: JSON.stringify({ assistant_id: "echo", input: { steps: [] } }),
  });
  return {
    threadId: thread.thread_id,
    runIds: created,
    runStatus: run.status,
    events,
    last,
    threadIds: threads.map((t) => t.thread_id),
    contentLocation: raw.headers.get("content-location"),
    requestId: raw.headers.get("x-request-id"),
  };
};

// An error the page can read (status and detail) because error responses carry CORS headers too.
window.unauthorized = async (apiUrl) => {
  const client = new Client({ apiUrl, apiKey: null });
  try {
    await client.threads.create();
    return { ok: true };
  } catch (error) {
    return { ok: false, status: error.status ?? null, message: String(error.message ?? error) };
  }
};
