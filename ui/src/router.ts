// Hash routing (`/#/assistants/<id>/versions`): the server serves one page at `/`, so a deep link
// never reaches it and no path can shadow an API route.
import { useEffect, useMemo, useState } from "react";

export interface Route {
  parts: string[];
  query: URLSearchParams;
}

function parse(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

// Every mounted useRoute, so navigate() can tell them at once (see there).
const listeners = new Set<() => void>();

export function useRoute(): Route {
  // The raw hash is the state: setting the same string again (navigate, then its own hashchange
  // event) re-renders nothing.
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const update = () => setHash(window.location.hash);
    window.addEventListener("hashchange", update);
    listeners.add(update);
    return () => {
      window.removeEventListener("hashchange", update);
      listeners.delete(update);
    };
  }, []);
  return useMemo(() => parse(hash), [hash]);
}

export function href(path: string, query?: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return `#${path}${qs ? `?${qs}` : ""}`;
}

export function navigate(to: string): void {
  window.location.hash = to.replace(/^#/, "");
  // Tell the screens now rather than on the hashchange event, which comes a task later: inside a
  // click React then renders the new route before it restores a controlled input, so the version
  // radio does not snap back to unchecked for a moment (a click-then-check could see it unchanged).
  for (const update of listeners) update();
}
