// The Pacific admin's view: the page shell, the login form and the hash routes of the four views.
import { render } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import type { ActionRequest, SessionInfo } from "../../controllers/ui/model.ts";
import { act, login, logout, session } from "./api.ts";
import { RowStore } from "./store.ts";
import { ClusterPage } from "./views/cluster.tsx";
import { EventsView } from "./views/events.tsx";
import { HostsView } from "./views/hosts.tsx";
import { WorkloadView } from "./views/workload.tsx";

export type Act = (a: ActionRequest) => Promise<void>;

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function Login({ onLogin }: { onLogin: (s: SessionInfo) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  const submit = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      onLogin(await login(token));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <form class="login" onSubmit={submit}>
      <h1>Pacific</h1>
      <p>vSphere with Kubernetes — log in with a Kubernetes bearer token.</p>
      <label>
        Token
        <textarea
          name="token"
          rows={4}
          value={token}
          onInput={(e) => setToken((e.target as HTMLTextAreaElement).value)}
          autocomplete="off"
        />
      </label>
      <button type="submit">Log in</button>
      {error && <p class="error">{error}</p>}
      <p class="hint">
        <code>kubectl create token &lt;serviceaccount&gt;</code> gives one; <code>npm run up</code> prints
        one.
      </p>
    </form>
  );
}

function App({ info, onLogout }: { info: SessionInfo; onLogout: () => void }) {
  const [store] = useState(() => new RowStore());
  const [, setTick] = useState(0);
  const [notice, setNotice] = useState<{ text: string; error: boolean } | undefined>();
  const hash = useHash();
  useEffect(() => {
    const off = store.subscribe(() => setTick((t) => t + 1));
    store.connect();
    return () => {
      off();
      store.close();
    };
  }, [store]);
  useEffect(() => {
    // The benchmark reads when the first snapshot reached the screen: after the commit, the next
    // frame's style, layout and paint, then a task (the usual "after paint" mark).
    if (store.firstRenderMs === undefined && store.connection === "live") {
      store.firstRenderMs = -1;
      document.body.dataset.commitMs = String(Math.round(performance.now()));
      requestAnimationFrame(() =>
        setTimeout(() => {
          store.firstRenderMs = performance.now();
          document.body.dataset.firstRenderMs = String(Math.round(store.firstRenderMs));
        }),
      );
    }
  });
  if (store.connection === "unauthorized") onLogout();
  // Stable across renders, so list items that take it re-render only when their rows change.
  const doAct: Act = useCallback(
    async (a) => {
      setNotice(undefined);
      try {
        await act(info, a);
        setNotice({ text: "Done: the change shows here as soon as the controllers make it.", error: false });
      } catch (e) {
        setNotice({ text: (e as Error).message, error: true });
      }
    },
    [info],
  );
  const route = hash.replace(/^#\/?/, "").split("/");
  const page = route[0] || (store.seesHosts ? "hosts" : "workload");
  const tabs = [
    ...(store.seesHosts ? [["hosts", "Hosts and Clusters"]] : []),
    ["workload", "Workload Management"],
    ["events", "Events and Alarms"],
  ];
  let view = <p class="empty">Loading the inventory…</p>;
  if (store.connection !== "connecting") {
    if (page === "hosts") view = <HostsView store={store} act={doAct} />;
    else if (page === "workload") view = <WorkloadView store={store} act={doAct} />;
    else if (page === "cluster" && route[1] && route[2])
      view = <ClusterPage store={store} act={doAct} ns={route[1]} name={route[2]} />;
    else view = <EventsView store={store} />;
  }
  return (
    <div class="shell">
      <header>
        <span class="brand">Pacific</span>
        <nav>
          {tabs.map(([id, label]) => (
            <a key={id} href={`#/${id}`} class={page === id ? "active" : ""}>
              {label}
            </a>
          ))}
        </nav>
        <span class={`conn ${store.connection}`} title="server-sent events from the manager's caches">
          {store.connection}
        </span>
        <span class="user" data-testid="user">
          {info.user}
        </span>
        <button
          type="button"
          class="link"
          onClick={async () => {
            await logout().catch(() => undefined);
            onLogout();
          }}
        >
          Log out
        </button>
      </header>
      {notice && (
        <div class={`notice ${notice.error ? "error" : ""}`} role="status" data-testid="notice">
          {notice.text}
          <button type="button" class="link" onClick={() => setNotice(undefined)}>
            ×
          </button>
        </div>
      )}
      <main>{view}</main>
    </div>
  );
}

function Root() {
  const [info, setInfo] = useState<SessionInfo | null | undefined>(undefined);
  useEffect(() => {
    session()
      .then(setInfo)
      // 401: not logged in; anything else also shows the form, whose login says what is wrong.
      .catch(() => setInfo(null));
  }, []);
  if (info === undefined) return <p class="boot">Loading…</p>;
  if (info === null) return <Login onLogin={setInfo} />;
  return <App info={info} onLogout={() => setInfo(null)} />;
}

const app = document.getElementById("app");
if (!app) throw new Error("index.html has no #app element");
render(<Root />, app);
