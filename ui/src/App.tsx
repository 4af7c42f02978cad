// The page frame (header, sign-in and sign-out) and the hash routes to each screen.
import { Fragment, useEffect, useState } from "react";
import { API_BASE, type ApiError, getCredential, onUnauthorized, setCredential } from "./api";
import { href, useRoute } from "./router";
import { AssistantsTable } from "./screens/AssistantsTable";
import { AssistantForm } from "./screens/AssistantForm";
import { AssistantPage } from "./screens/AssistantPage";
import { SignIn } from "./screens/SignIn";
import { StoreBrowser } from "./screens/StoreBrowser";
import { ThreadPage } from "./screens/ThreadPage";
import { ThreadsList } from "./screens/ThreadsList";

export function App() {
  const { parts, query } = useRoute();
  // A 401 from any call replaces the screen with the sign-in form until the server accepts a key;
  // the screen is then mounted afresh (`loads`), so it loads again with the key.
  const [unauthorized, setUnauthorized] = useState<ApiError | null>(null);
  const [signedIn, setSignedIn] = useState(() => getCredential() !== null);
  const [loads, setLoads] = useState(0);
  useEffect(() => onUnauthorized(setUnauthorized), []);
  const reload = (credentialStored: boolean) => {
    setSignedIn(credentialStored);
    setUnauthorized(null);
    setLoads((n) => n + 1);
  };
  let screen;
  if (parts[0] === "store") screen = <StoreBrowser query={query} />;
  else if (parts[0] === "new") screen = <AssistantForm key="new" graph={query.get("graph") ?? undefined} />;
  else if (parts[0] === "assistants" && parts[1] && parts[2] === "edit")
    screen = <AssistantForm key={`edit-${parts[1]}`} assistantId={parts[1]} />;
  else if (parts[0] === "assistants" && parts[1])
    screen = <AssistantPage key={parts[1]} assistantId={parts[1]} tab={parts[2] ?? "versions"} query={query} />;
  else if (parts[0] === "threads" && parts[1]) screen = <ThreadPage key={parts[1]} threadId={parts[1]} />;
  else if (parts[0] === "threads") screen = <ThreadsList query={query} />;
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
          <a href={href("/store")}>Store</a>
          <a href={href("/threads")}>Threads</a>
          <a href={`${API_BASE}/docs`}>API docs</a>
        </nav>
        {signedIn ? (
          <button
            type="button"
            className="small"
            onClick={() => {
              setCredential(null);
              reload(false);
            }}
          >
            Sign out
          </button>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {unauthorized ? (
          <SignIn reason={unauthorized} onSignedIn={() => reload(true)} />
        ) : (
          <Fragment key={loads}>{screen}</Fragment>
        )}
      </main>
    </>
  );
}
