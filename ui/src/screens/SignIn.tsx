// Shown instead of the screen when a call answers 401: the server's reason, the key or token, and
// which header carries it. The server checks it before it is stored.
import { useState } from "react";
import { type ApiError, checkCredential, type CredentialHeader, setCredential } from "../api";
import { ErrorBox } from "../components/common";

export function SignIn({ reason, onSignedIn }: { reason: ApiError; onSignedIn: () => void }) {
  const [value, setValue] = useState("");
  const [header, setHeader] = useState<CredentialHeader>("x-api-key");
  const [error, setError] = useState<unknown>(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const credential = { header, value: value.trim() };
    setBusy(true);
    try {
      await checkCredential(credential);
      setCredential(credential);
      onSignedIn();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <section className="sign-in" aria-labelledby="sign-in-title">
      <h1 id="sign-in-title">Sign in</h1>
      <p>This server needs an API key or a token for its API.</p>
      <ErrorBox error={error} />
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="sign-in-value">API key or token</label>
          <input
            id="sign-in-value"
            type="password"
            autoComplete="off"
            required
            autoFocus
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </div>
        <fieldset className="choices">
          <legend>Send it as</legend>
          <label>
            <input type="radio" name="header" checked={header === "x-api-key"} onChange={() => setHeader("x-api-key")} />
            API key (<code>x-api-key</code> header)
          </label>
          <label>
            <input type="radio" name="header" checked={header === "bearer"} onChange={() => setHeader("bearer")} />
            Bearer token (<code>Authorization: Bearer</code> header)
          </label>
        </fieldset>
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      <p className="help">Kept in this browser (localStorage) until you sign out.</p>
    </section>
  );
}
