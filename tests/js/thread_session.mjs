// The JS SDK's thread streaming session (client.threads.stream → ThreadStream) against a server, over SSE and
// WebSocket: a run's values and output, a chat model's message, an interrupt answered, an unknown assistant.
// Exits non-zero on any failure.
//
//   GRAPHDOCK_URL=http://127.0.0.1:8123 node thread_session.mjs   (Node < 22: node --experimental-websocket …)
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Client } from "@langchain/langgraph-sdk";

const apiUrl = process.env.GRAPHDOCK_URL;
if (!apiUrl) {
  console.error("FAIL: set GRAPHDOCK_URL to the server's base URL, e.g. http://127.0.0.1:8123");
  process.exit(2);
}
const client = new Client({ apiUrl, timeoutMs: 30_000, callerOptions: { maxRetries: 0 } });

// Every wait is bounded: a session that never ends must fail the script, not hang it.
function within(promise, what, ms = 60_000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function collect(iterable) {
  const items = [];
  for await (const item of iterable) items.push(item);
  return items;
}

async function session(transport, assistantId, fn) {
  const thread = client.threads.stream({ assistantId, transport });
  try {
    return await fn(thread);
  } finally {
    await thread.close();
  }
}

let n = 0;
async function check(name, fn) {
  n += 1;
  try {
    console.log(`ok ${n} - ${name}: ${await fn()}`);
  } catch (err) {
    err.step = `check ${n} (${name})`;
    throw err;
  }
}

async function main() {
  for (const transport of ["sse", "websocket"]) {
    await check(`${transport}: a run's values and output`, () =>
      session(transport, "echo", async (thread) => {
        const values = thread.values; // opened before the run, as the SDK's own run.start does
        const { run_id } = await thread.run.start({ input: { text: "hi" } });
        assert.match(run_id, /^[0-9a-f-]{36}$/);
        const output = await within(thread.output, "the output");
        assert.deepEqual(output, { text: "hi", steps: ["echo"] });
        const seen = await within(collect(values), "the values");
        assert.deepEqual(seen.at(-1), output);
        const run = await client.runs.get(thread.threadId, run_id);
        assert.equal(run.status, "success");
        return `${seen.length} values, output ${JSON.stringify(output)}`;
      }),
    );

    await check(`${transport}: a chat model's message, token by token`, () =>
      session(transport, "chat", async (thread) => {
        const messages = thread.messages;
        await thread.run.start({ input: { messages: [{ role: "user", content: "hi" }] } });
        const [message, ...more] = await within(collect(messages), "the messages");
        assert.equal(more.length, 0);
        const deltas = await within(collect(message.text), "the text");
        assert.deepEqual(deltas, ["hello", " ", "there", " ", "friend"]);
        assert.equal(await message.text, "hello there friend");
        const output = await within(thread.output, "the output");
        assert.equal(textOf(output.messages.at(-1).content), "hello there friend");
        return JSON.stringify(await message.text);
      }),
    );

    await check(`${transport}: an interrupt answered with input.respond`, () =>
      session(transport, "interrupting", async (thread) => {
        await thread.run.start({ input: { text: "x" } });
        await within(thread.output, "the interrupted run's end");
        assert.equal(thread.interrupted, true);
        const [asked] = thread.interrupts;
        assert.deepEqual(asked.payload, { question: "approve?", text: "x" });
        assert.deepEqual(asked.namespace, []);
        await thread.input.respond({ interrupt_id: asked.interruptId, namespace: [], response: "yes" });
        const state = await within(waitForSteps(thread.threadId, 3), "the resumed run");
        assert.deepEqual(state.values.steps, ["before", "answer:yes", "after"]);
        return `${asked.interruptId} answered`;
      }),
    );

    await check(`${transport}: an unknown assistant`, () =>
      session(transport, randomUUID(), async (thread) => {
        await assert.rejects(thread.run.start({ input: {} }), (err) => {
          assert.match(String(err.message), /404/);
          return true;
        });
        return "refused";
      }),
    );
  }
}

// A message's text: graphdock keeps LangGraph's string content; the official server sends content blocks.
function textOf(content) {
  return typeof content === "string" ? content : content.map((block) => block.text ?? "").join("");
}

// The resumed run's end, read from the thread's state (a plain client, not the session).
async function waitForSteps(threadId, count) {
  for (;;) {
    const state = await client.threads.getState(threadId);
    if ((state.values.steps || []).length >= count && state.next.length === 0) return state;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

try {
  await main();
  console.log(`all ${n} checks passed`);
  process.exit(0);
} catch (err) {
  console.error(`FAIL at ${err.step || "setup"}: ${err.stack || err}`);
  process.exit(1);
}
