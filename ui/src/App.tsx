// The page frame (header, API-key setting) and the hash routes to each screen.
import { useState } from "react";
import { getApiKey, setApiKey } from "./api";
import { href, useRoute } from "./router";
import { AssistantsTable } from "./screens/AssistantsTable";
import { AssistantForm } from "./screens/AssistantForm";
import { AssistantPage } from "./screens/AssistantPage";

function ApiKeySetting() {
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState(getApiKey);
  const [draft, setDraft] = useState(key);
  return (
    <div className="apikey">
      <button
        type="button"
        className="small"
        aria-expanded={open}
        aria-controls="apikey-panel"
        onClick={() => setOpen(!open)}
      >
        API key: {key ? "set" : "none"}
      </button>
      {open ? (
        <form
          id="apikey-panel"
          className="popover"
          onSubmit={(e) => {
            e.preventDefault();
            setApiKey(draft.trim());
            setKey(draft.trim());
            setOpen(false);
          }}
        >
          <label htmlFor="apikey-input">API key (sent as x-api-key, kept in this browser)</label>
          <input
            id="apikey-input"
            type="password"
            autoComplete="off"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
          />
          <div className="row">
            <button type="submit" className="primary small">
              Save key
            </button>
            <button type="button" className="small" onClick={() => { setDraft(""); setApiKey(""); setKey(""); setOpen(false); }}>
              Clear
            </button>
          </div>
        </form>
      ) : null}
    </div>
  );
}

export function App() {
  const { parts, query } = useRoute();
  let screen;
  if (parts[0] === "new") screen = <AssistantForm key="new" graph={query.get("graph") ?? undefined} />;
  else if (parts[0] === "assistants" && parts[1] && parts[2] === "edit")
    screen = <AssistantForm key={`edit-${parts[1]}`} assistantId={parts[1]} />;
  else if (parts[0] === "assistants" && parts[1])
    screen = <AssistantPage key={parts[1]} assistantId={parts[1]} tab={parts[2] ?? "versions"} query={query} />;
  else screen = <AssistantsTable query={query} />;
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header className="top">
        <a className="brand" href={href("/")}>
          graphdock
        </a>
        <nav aria-label="Main">
          <a href={href("/")}>Assistants</a>
          <a href={href("/new")}>New assistant</a>
          <a href="/docs">API docs</a>
        </nav>
        <ApiKeySetting />
      </header>
      <main id="main" tabIndex={-1}>
        {screen}
      </main>
    </>
  );
}
