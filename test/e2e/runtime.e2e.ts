// The controller runtime against a real control plane, with real faults: the API server stopped
// and restarted, etcd compacted, the API server frozen (SIGSTOP) past the watchdog, two manager
// processes electing a leader, and /metrics and /readyz served over HTTP.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import * as k8s from "@kubernetes/client-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { loadConfig, type PacificConfig } from "../../controllers/config.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import { isAlreadyExists, isNotFound } from "../../controllers/runtime/errors.ts";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import { Manager } from "../../controllers/runtime/manager.ts";
import { PatchHelper } from "../../controllers/runtime/patchhelper.ts";
import { ConfigMaps, CustomResourceDefinitions, Leases } from "../../controllers/runtime/resource.ts";
import { eventually, kubeConfig, root, uniqueName } from "./kube.ts";
import { compactEtcd, freeze, isLocalCluster, startMissing, stopComponent, thaw } from "./local-cluster.ts";

const kc = kubeConfig();
const client = new KubeClient(kc);
const core = kc.makeApiClient(k8s.CoreV1Api);
const ns = uniqueName("e2e-runtime");
const local = isLocalCluster();

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: ns } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: ns }).catch(() => undefined);
});

/** ConfigMap `name` of the set `label` (objects are named <label>-<name>, unique per test). */
const configMap = (name: string, label: string) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: `${label}-${name}`, namespace: ns, labels: { suite: label } },
  data: { v: "1" },
});

/** An informer over the ConfigMaps of this suite with `label`, recording what its handlers saw. */
function recordingInformer(label: string, watchdogMs?: number) {
  const seen = { added: new Set<string>(), deleted: new Set<string>() };
  const inf = new Informer<KubeObject>(ConfigMaps, client, silentLogger, {
    namespace: ns,
    labelSelector: `suite=${label}`,
    watchdogMs,
    resyncMs: 0,
  });
  inf.addHandler({
    add: (o) => seen.added.add(o.metadata!.name!.slice(label.length + 1)),
    delete: (o) => seen.deleted.add(o.metadata!.name!.slice(label.length + 1)),
  });
  const names = () => [...inf.store.list()].map((o) => o.metadata!.name!.slice(label.length + 1)).sort();
  return { inf, seen, names };
}

describe("informer and RBAC", () => {
  it("retries a denied list with backoff, not a flat wait: granted access heals it within seconds", async () => {
    // A kube-apiserver that has just restarted denies requests until its RBAC caches sync; the
    // chaos suite saw informers then wait 15-45 s. Here: a user with no rights, then a Role.
    const user = uniqueName("denied");
    const asUser = new KubeClient(kc, { impersonate: { user, groups: ["system:authenticated"] } });
    const inf = new Informer<KubeObject>(ConfigMaps, asUser, silentLogger, { namespace: ns, resyncMs: 0 });
    inf.start();
    try {
      await eventually("the first list is denied", async () => inf.authError);
      const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
      await rbac.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: user },
          rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["list", "watch"] }],
        },
      });
      await rbac.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: user },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: user },
          subjects: [{ kind: "User", name: user, apiGroup: "rbac.authorization.k8s.io" }],
        },
      });
      const granted = Date.now();
      await eventually("synced once granted", async () => inf.hasSynced, 15_000);
      // Backoff after n denials is 0.8·2^(n-1) s ± 50%: a few seconds here, never the old 15-45 s.
      expect(Date.now() - granted).toBeLessThan(12_000);
      expect(inf.authError).toBe(false);
    } finally {
      inf.stop();
    }
  });
});

describe.skipIf(!local)("informer under faults (local control plane)", () => {
  it("a manager starting while kube-apiserver is down waits for it instead of exiting", async () => {
    // The chaos suite caught managers exiting with "cannot load the settings" (connection refused,
    // then 503 "before all known HTTP paths have been installed") while the API server restarted.
    const warnings: string[] = [];
    const log = pino({ level: "warn" }, { write: (line: string) => void warnings.push(line) });
    stopComponent("kube-apiserver");
    let config: PacificConfig | undefined;
    const loading = loadConfig(client, "pacific-system", "pacific-settings", log).then((c) => {
      config = c;
    });
    try {
      await eventually("a failed attempt", async () => warnings.length > 0, 10_000);
      expect(config).toBeUndefined();
    } finally {
      startMissing();
    }
    await loading;
    expect(config?.apis).toEqual({ vmOperator: true, clusterAPI: true, tkc: true });
    expect(warnings[0]).toContain("the API server cannot answer yet");
  });

  it("keeps serving after kube-apiserver stops and starts, and converges on what changed meanwhile", async () => {
    const label = uniqueName("restart");
    for (const n of ["a", "b", "c"]) await client.create(ConfigMaps, configMap(n, label));
    const { inf, seen, names } = recordingInformer(label);
    inf.start();
    await inf.waitForSync();
    expect(names()).toEqual(["a", "b", "c"]);

    stopComponent("kube-apiserver");
    // While it is down the cache keeps answering.
    expect(names()).toEqual(["a", "b", "c"]);
    startMissing();
    // Changes made right after the restart, before the informer's backoff lets it reconnect. This
    // client may still hold a keep-alive socket to the stopped API server (EPIPE on a loaded
    // machine): the writes are retried until they are answered, as any client would.
    await eventually("b deleted", () =>
      client.delete(ConfigMaps, `${label}-b`, ns).then(
        () => true,
        (e) => isNotFound(e) || Promise.reject(e),
      ),
    );
    await eventually("d created", () =>
      client.create(ConfigMaps, configMap("d", label)).then(
        () => true,
        (e) => isAlreadyExists(e) || Promise.reject(e),
      ),
    );

    await eventually(
      "informer converged after the restart",
      async () => seen.deleted.has("b") && seen.added.has("d"),
      60_000,
    );
    expect(names()).toEqual(["a", "c", "d"]);
    inf.stop();
  });

  it("relists after an etcd compaction and reports the deletions it missed", async () => {
    const label = uniqueName("compact");
    for (const n of ["a", "b", "c", "d"]) await client.create(ConfigMaps, configMap(n, label));
    const { inf, seen, names } = recordingInformer(label);
    inf.start();
    await inf.waitForSync();
    inf.stop(); // disconnected: it keeps its cache and resourceVersion

    await client.delete(ConfigMaps, `${label}-b`, ns);
    await client.delete(ConfigMaps, `${label}-c`, ns);
    for (let i = 0; i < 5; i++) await client.create(ConfigMaps, configMap(`noise-${i}`, `${label}-other`));
    await compactEtcd();
    // A fresh API server has no watch-cache history: the old resourceVersion is now too old.
    stopComponent("kube-apiserver");
    startMissing();

    inf.start(); // resumes the watch from the old resourceVersion → 410 → relist and diff
    await eventually(
      "deletions reported after the relist",
      async () => seen.deleted.has("b") && seen.deleted.has("c"),
      60_000,
    );
    expect(inf.stats.relistsAfterGone).toBeGreaterThanOrEqual(1);
    expect(names()).toEqual(["a", "d"]);
    inf.stop();
  });

  it("restarts a watch stalled by SIGSTOP on the API server once it is thawed", async () => {
    const label = uniqueName("stall");
    const { inf, seen } = recordingInformer(label, 2_000);
    inf.start();
    await inf.waitForSync();
    freeze("kube-apiserver");
    try {
      await new Promise((r) => setTimeout(r, 5_000)); // longer than the 2 s watchdog
    } finally {
      thaw("kube-apiserver");
    }
    expect(inf.stats.watchdogRestarts).toBeGreaterThanOrEqual(1);
    await client.create(ConfigMaps, configMap("after-stall", label));
    await eventually("event seen after the stall", async () => seen.added.has("after-stall"), 60_000);
    inf.stop();
  });
});

// ---------- two manager processes ----------
interface Proc {
  child: ChildProcess;
  port: number;
  identity: string;
}

async function startManager(identity: string, leaseName: string): Promise<Proc> {
  const child = spawn(process.execPath, ["--import", "tsx", "test/e2e/fixtures/manager-process.ts"], {
    cwd: root,
    env: {
      ...process.env,
      LEASE_NAMESPACE: ns,
      LEASE_NAME: leaseName,
      IDENTITY: identity,
      WATCH_NAMESPACE: ns,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once("line", resolve);
    child.once("exit", (code) => reject(new Error(`manager ${identity} exited with ${code}`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  return { child, port, identity };
}

async function holder(leaseName: string): Promise<string | undefined> {
  try {
    const lease = await client.get<k8s.V1Lease>(Leases, leaseName, ns);
    return lease.spec?.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}

async function masterStatus(p: Proc): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${p.port}/metrics`)).text();
  const m = text.match(/^leader_election_master_status\{name="[^"]+"\} (\d)/m);
  return m ? Number(m[1]) : -1;
}

describe("leader election between two manager processes", () => {
  const procs: Proc[] = [];
  afterAll(() => {
    for (const p of procs) p.child.kill("SIGKILL");
  });

  it("elects one leader; a SIGKILLed leader is replaced within 20 s; SIGTERM releases at once", async () => {
    const lease = uniqueName("leader");
    procs.push(await startManager("alpha", lease), await startManager("beta", lease));
    const first = await eventually("a leader", () => holder(lease), 30_000);
    const leader = procs.find((p) => p.identity === first)!;
    const standby = procs.find((p) => p.identity !== first)!;
    expect(await masterStatus(leader)).toBe(1);
    expect(await masterStatus(standby)).toBe(0);
    // The raw Lease: MicroTime timestamps, as a real client-go candidate would write them.
    // MicroTime fields arrive as strings, whatever client-node's V1Lease says.
    const raw = (await client.get(Leases, lease, ns)) as unknown as {
      spec: { renewTime: string; leaseDurationSeconds: number };
    };
    expect(raw.spec.renewTime).toMatch(/\.\d{6}Z$/);
    expect(raw.spec.leaseDurationSeconds).toBe(15);

    const killedAt = Date.now();
    leader.child.kill("SIGKILL");
    await eventually(
      "standby takes over",
      async () => (await holder(lease)) === standby.identity,
      25_000,
      100,
    );
    const takeover = Date.now() - killedAt;
    expect(takeover).toBeLessThan(20_000);
    await eventually("new leader reports master status", async () => (await masterStatus(standby)) === 1);

    // A third candidate waits; SIGTERM on the leader releases the lease so it takes over at once.
    const gamma = await startManager("gamma", lease);
    procs.push(gamma);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await holder(lease)).toBe(standby.identity);
    const termAt = Date.now();
    standby.child.kill("SIGTERM");
    const exitCode = await new Promise<number | null>((r) => standby.child.once("exit", (c) => r(c)));
    expect(exitCode).toBe(0);
    await eventually(
      "gamma leads after the release",
      async () => (await holder(lease)) === "gamma",
      15_000,
      100,
    );
    // Far less than the 15 s lease duration: the lease was released, not left to expire.
    expect(Date.now() - termAt).toBeLessThan(8_000);
  });
});

// ---------- /metrics and /readyz ----------
describe("manager HTTP endpoints", () => {
  it("/readyz fails until every informer has synced; /metrics has controller-runtime's names and labels", async () => {
    const group = `${uniqueName("r")}.e2e.pacific.dev`;
    const widgets = { group, version: "v1", plural: "widgets", kind: "Widget", namespaced: true };
    const mgr = new Manager({
      kubeConfig: kc,
      name: "e2e-http",
      bindAddress: "127.0.0.1:0",
      logger: silentLogger,
    });
    let reconciled = 0;
    mgr
      .controller("widget")
      .for(widgets)
      .complete({
        reconcile: async () => {
          reconciled++;
          return undefined;
        },
      });
    await mgr.start();
    const url = `http://127.0.0.1:${mgr.address!.port}`;
    try {
      // The Widget CRD does not exist yet: its informer cannot list, so the manager is not ready.
      const before = await fetch(`${url}/readyz`);
      expect(before.status).toBe(503);
      expect(await before.text()).toContain("widgets");
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      await client.patch(
        CustomResourceDefinitions,
        `widgets.${group}`,
        undefined,
        {
          apiVersion: "apiextensions.k8s.io/v1",
          kind: "CustomResourceDefinition",
          metadata: { name: `widgets.${group}` },
          spec: {
            group,
            scope: "Namespaced",
            names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
            versions: [
              {
                name: "v1",
                served: true,
                storage: true,
                schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
              },
            ],
          },
        },
        { type: "apply" },
      );
      await eventually(
        "ready once the informer lists",
        async () => (await fetch(`${url}/readyz`)).status === 200,
        60_000,
      );
      await eventually("Widget served", () =>
        client.create(widgets, {
          apiVersion: `${group}/v1`,
          kind: "Widget",
          metadata: { name: "w1", namespace: ns },
        }),
      );
      await eventually("reconciled", async () => reconciled > 0);

      const text = await (await fetch(`${url}/metrics`)).text();
      for (const result of ["success", "error", "requeue", "requeue_after"]) {
        expect(text).toContain(`controller_runtime_reconcile_total{controller="widget",result="${result}"}`);
      }
      expect(text).toMatch(
        /controller_runtime_reconcile_total\{controller="widget",result="success"\} [1-9]/,
      );
      for (const name of [
        'controller_runtime_reconcile_errors_total{controller="widget"}',
        'controller_runtime_terminal_reconcile_errors_total{controller="widget"}',
        'controller_runtime_reconcile_time_seconds_bucket{le="0.005",controller="widget"}',
        'controller_runtime_max_concurrent_reconciles{controller="widget"}',
        'controller_runtime_active_workers{controller="widget"}',
        'workqueue_depth{name="widget",controller="widget"}',
        'workqueue_adds_total{name="widget",controller="widget"}',
        'workqueue_retries_total{name="widget",controller="widget"}',
        'workqueue_queue_duration_seconds_bucket{le="1e-8",name="widget",controller="widget"}',
        'workqueue_work_duration_seconds_count{name="widget",controller="widget"}',
        'workqueue_unfinished_work_seconds{name="widget",controller="widget"}',
        'workqueue_longest_running_processor_seconds{name="widget",controller="widget"}',
        'rest_client_requests_total{code="200",method="GET",host="',
        "process_resident_memory_bytes",
      ]) {
        expect(text, name).toContain(name);
      }
    } finally {
      await mgr.stop();
      await client.delete(CustomResourceDefinitions, `widgets.${group}`).catch(() => undefined);
    }
  });
});

// ---------- the patch helper ----------
describe("patch helper", () => {
  it("sends metadata/spec and status as separate merge patches, and keeps a finalizer added meanwhile", async () => {
    const name = uniqueName("patch");
    const created = await eventually("ESXiHost created", () =>
      client.create<ESXiHost>(ESXiHostResource, {
        apiVersion: "vsphere.pacific.dev/v1alpha1",
        kind: "ESXiHost",
        metadata: { name },
        spec: { capacity: { cpu: 4, memory: "8Gi" } } as ESXiHost["spec"],
      }),
    );
    try {
      const helper = new PatchHelper(client, ESXiHostResource, created);
      // Someone else adds a finalizer after our snapshot: our finalizer change must not drop it.
      await client.patch(ESXiHostResource, name, undefined, {
        metadata: { finalizers: ["example.com/other"] },
      });
      const mine: ESXiHost = structuredClone(created);
      mine.metadata.labels = { team: "a" };
      mine.metadata.finalizers = ["example.com/mine"];
      mine.spec.zone = "zone-9";
      mine.status = { powerState: "standBy" };
      const out = await helper.patch(mine);
      expect(out?.status?.powerState).toBe("standBy");
      const got = await client.get<ESXiHost>(ESXiHostResource, name);
      expect(got.metadata.labels).toEqual({ team: "a" });
      expect(got.spec.zone).toBe("zone-9");
      expect(got.metadata.finalizers?.sort()).toEqual(["example.com/mine", "example.com/other"]);
      expect(got.status?.powerState).toBe("standBy");
      // Nothing changed: nothing is sent, so the object on the server keeps its resourceVersion.
      await new PatchHelper(client, ESXiHostResource, got).patch(structuredClone(got));
      expect((await client.get<ESXiHost>(ESXiHostResource, name)).metadata.resourceVersion).toBe(
        got.metadata.resourceVersion,
      );
    } finally {
      await client
        .patch(ESXiHostResource, name, undefined, { metadata: { finalizers: null } })
        .catch(() => undefined);
      await client.delete(ESXiHostResource, name).catch(() => undefined);
    }
  });
});
