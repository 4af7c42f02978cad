// Runs the LangGraph guide "How to version Assistants" with the official JS SDK; exits non-zero on any failure.
//
//   GRAPHDOCK_URL=http://127.0.0.1:8123 [GRAPHDOCK_GRAPH=agent] node walkthrough.mjs
//
// GRAPHDOCK_REFERENCE=1 downgrades the checks where graphdock deliberately differs from the official
// server (see CONTRACT.md, "[graphdock]") to printed notes, so the script can be run against `langgraph dev`.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Client } from "@langchain/langgraph-sdk";

const apiUrl = process.env.GRAPHDOCK_URL;
const graphId = process.env.GRAPHDOCK_GRAPH || "agent";
const reference = ["1", "true", "yes"].includes((process.env.GRAPHDOCK_REFERENCE || "").toLowerCase());
if (!apiUrl) {
  console.error("FAIL: set GRAPHDOCK_URL to the server's base URL, e.g. http://127.0.0.1:8123");
  process.exit(2);
}

// No retries: a 5xx or a dropped connection must fail the walkthrough, not be papered over.
const client = new Client({ apiUrl, timeoutMs: 30_000, callerOptions: { maxRetries: 0 } });
const tag = randomUUID(); // metadata that lets `search` find exactly this run's assistant
const helpful = { model_name: "openai", system_prompt: "You are a helpful assistant." };
const unhelpful = { model_name: "openai", system_prompt: "You are an unhelpful assistant!" };

let n = 0;
async function step(name, fn) {
  n += 1;
  try {
    console.log(`ok ${n} - ${name}: ${await fn()}`);
  } catch (err) {
    err.step = `step ${n} (${name})`;
    throw err;
  }
}

// An assertion graphdock must pass but the official server is known to fail (only when GRAPHDOCK_REFERENCE=1).
function graphdockOnly(check, what) {
  try {
    check();
  } catch (err) {
    if (!reference) throw err;
    console.log(`   note: official server differs (expected, [graphdock] in CONTRACT.md): ${what}`);
  }
}

async function expect404(promise, what) {
  await assert.rejects(promise, (err) => {
    assert.equal(err?.status, 404, `${what}: expected an HTTP 404 error, got ${err?.status ?? err}`);
    return true;
  });
}

let assistantId;
try {
  await step("create", async () => {
    const a = await client.assistants.create({
      graphId,
      config: { configurable: helpful },
      metadata: { walkthrough: tag },
      name: "Open AI Assistant",
    });
    assistantId = a.assistant_id;
    assert.match(assistantId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(a.version, 1);
    assert.equal(a.graph_id, graphId);
    assert.equal(a.name, "Open AI Assistant");
    assert.deepEqual(a.config.configurable, helpful);
    assert.deepEqual(a.context, helpful, "create mirrors configurable into context");
    assert.deepEqual(a.metadata, { walkthrough: tag });
    return `${assistantId} version ${a.version}`;
  });

  await step("update", async () => {
    const a = await client.assistants.update(assistantId, { config: { configurable: unhelpful } });
    assert.equal(a.assistant_id, assistantId);
    assert.equal(a.version, 2, "update creates version 2 and makes it active");
    assert.deepEqual(a.config.configurable, unhelpful);
    assert.deepEqual(a.context, unhelpful, "update mirrors configurable into context");
    assert.equal(a.name, "Open AI Assistant", "omitted fields are kept");
    return `version ${a.version}, system_prompt ${JSON.stringify(a.config.configurable.system_prompt)}`;
  });

  await step("getVersions", async () => {
    const versions = await client.assistants.getVersions(assistantId);
    assert.deepEqual(versions.map((v) => v.version), [2, 1], "versions come newest first");
    assert.ok(versions.every((v) => v.assistant_id === assistantId));
    assert.deepEqual(versions.map((v) => v.config.configurable), [unhelpful, helpful]);
    assert.deepEqual(versions.map((v) => v.context), [unhelpful, helpful]);
    return `versions [${versions.map((v) => v.version)}]`;
  });

  await step("setLatest", async () => {
    const a = await client.assistants.setLatest(assistantId, 1);
    assert.equal(a.assistant_id, assistantId);
    assert.equal(a.version, 1, "setLatest(id, 1) makes version 1 active");
    assert.deepEqual(a.config.configurable, helpful);
    graphdockOnly(() => assert.deepEqual(a.context, helpful, "setLatest restores version 1's context"),
      `setLatest kept context ${JSON.stringify(a.context)}`);
    return `active version ${a.version}`;
  });

  await step("get", async () => {
    const a = await client.assistants.get(assistantId);
    assert.equal(a.version, 1, "get returns the active version");
    assert.deepEqual(a.config.configurable, helpful);
    graphdockOnly(() => assert.deepEqual(a.context, helpful, "get shows version 1's context"),
      `get shows context ${JSON.stringify(a.context)}`);
    assert.equal(a.name, "Open AI Assistant");
    return `version ${a.version}, system_prompt ${JSON.stringify(a.config.configurable.system_prompt)}`;
  });

  await step("search", async () => {
    const found = await client.assistants.search({ metadata: { walkthrough: tag } });
    assert.deepEqual(found.map((a) => a.assistant_id), [assistantId], "search by metadata finds exactly it");
    assert.equal(found[0].version, 1, "search sees the active version");
    assert.deepEqual(found[0].config.configurable, helpful);
    return `found ${found.length} assistant at version ${found[0].version}`;
  });

  await step("delete", async () => {
    const result = await client.assistants.delete(assistantId); // sends ?delete_threads=false, expects 204
    assert.equal(result, undefined, "delete answers 204 with an empty body");
    const deleted = assistantId;
    assistantId = undefined;
    await expect404(client.assistants.get(deleted), "get after delete");
    await expect404(client.assistants.getVersions(deleted), "getVersions after delete (all versions go)");
    return "gone: get and getVersions answer 404";
  });
  console.log(`PASS: ${n} steps against ${apiUrl} (graph ${JSON.stringify(graphId)})`);
} catch (err) {
  console.error(`FAIL: ${err.step ?? "walkthrough"} against ${apiUrl}: ${err.message}`);
  if (err.code !== "ERR_ASSERTION" && err.stack) console.error(err.stack); // assertion messages carry the diff
  process.exitCode = 1;
} finally {
  // Best-effort cleanup so a failed run leaves nothing behind on a shared server.
  if (assistantId) await client.assistants.delete(assistantId).catch(() => {});
}
