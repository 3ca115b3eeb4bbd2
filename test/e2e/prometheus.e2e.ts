// A real Prometheus (Debian's prometheus 2.x) scrapes the manager's /metrics and evaluates the
// chart's alerting rules; the Grafana dashboard's queries run against it. Nothing is mocked: the
// figures come from a manager reconciling real objects on the local control plane.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { TanzuKubernetesClusterResource } from "../../controllers/api/run/tanzukubernetescluster.ts";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceResource,
} from "../../controllers/api/vsphere/supervisornamespace.ts";
import { KubeClient } from "../../controllers/runtime/client.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { Namespaces } from "../../controllers/runtime/resource.ts";
import { tkcManifest } from "./fixtures/tkc.ts";
import { eventually, kubeConfig, root, uniqueName } from "./kube.ts";
import { startPacific } from "./pacific.ts";
import { localRegistryConfig } from "./registry-tools.ts";
import { CHART, helm, RELEASE, RELEASE_NAMESPACE } from "./tools.ts";

/** The job name Prometheus gives the manager: the chart's metrics Service (the rules select it). */
const JOB = "pacific-metrics";

const client = new KubeClient(kubeConfig());
const dir = mkdtempSync(join(tmpdir(), "pacific-prometheus-"));
const hosts = [uniqueName("prom-a"), uniqueName("prom-b")];
const tkcNs = uniqueName("prom-tkc");
const registry = localRegistryConfig();
const registryProject = uniqueName("prom-reg");
let mgr: Manager;
let prom: ChildProcess | undefined;
let promUrl = "";

interface PromResponse<T> {
  status: string;
  data: T;
  error?: string;
}
type Vector = Array<{ metric: Record<string, string>; value: [number, string] }>;

async function api<T>(path: string): Promise<T> {
  const r = await fetch(`${promUrl}${path}`);
  const body = (await r.json()) as PromResponse<T>;
  if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
  return body.data;
}
const query = (q: string) => api<{ result: Vector }>(`/api/v1/query?query=${encodeURIComponent(q)}`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** The chart's PrometheusRule, as a Prometheus rule file; short `for` so the test sees alerts fire. */
function chartRules(): string {
  const out = helm(
    "template",
    RELEASE,
    CHART,
    "--namespace",
    RELEASE_NAMESPACE,
    "--show-only",
    "templates/prometheusrule.yaml",
    "--set",
    "prometheusRule.enabled=true",
    "--set",
    "prometheusRule.hostNotRespondingFor=5s",
    "--set",
    "prometheusRule.tkcFailedFor=1s",
  );
  const rule = parseAllDocuments(out)[0]!.toJS() as { spec: { groups: unknown[] } };
  return stringify({ groups: rule.spec.groups });
}

beforeAll(async () => {
  try {
    execFileSync("prometheus", ["--version"], { stdio: "pipe" });
  } catch {
    throw new Error(
      "Debian's prometheus is not installed: run `bash hack/install-deps.sh` (or apt-get install prometheus)",
    );
  }
  // With the local registry, the Registry Service's metrics too (a project for its per-project series).
  mgr = await startPacific({}, registry ? { registry } : {});
  if (registry)
    await client.create(SupervisorNamespaceResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "SupervisorNamespace",
      metadata: { name: registryProject },
      spec: {},
    } as SupervisorNamespace);
  for (const name of hosts)
    await client.create<ESXiHost>(ESXiHostResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "ESXiHost",
      metadata: { name },
      spec: { clusterName: "prom-cluster", zone: "zone-p", capacity: { cpu: 24, memory: "96Gi" } },
    } as ESXiHost);

  // A TanzuKubernetesCluster that cannot be made (a plain namespace has no VM classes): phase failed.
  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: tkcNs } });
  await client.create(
    TanzuKubernetesClusterResource,
    tkcManifest({
      name: "doomed",
      namespace: tkcNs,
      controlPlane: 1,
      vmClass: "best-effort-small",
      storageClass: "none",
      pools: [],
      settings: "none",
    }),
  );
  writeFileSync(join(dir, "rules.yaml"), chartRules());
  writeFileSync(
    join(dir, "prometheus.yml"),
    stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: [join(dir, "rules.yaml")],
      scrape_configs: [{ job_name: JOB, static_configs: [{ targets: [`127.0.0.1:${mgr.address!.port}`] }] }],
    }),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prom = spawn(
    "prometheus",
    [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--web.enable-lifecycle",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  prom.stderr!.on("data", (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  await eventually(
    "Prometheus ready",
    async () => {
      if (prom?.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      return (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.ok;
    },
    30_000,
  );
});

afterAll(async () => {
  prom?.kill("SIGTERM");
  if (registry) {
    await client.delete(SupervisorNamespaceResource, registryProject).catch(() => undefined);
    await eventually("the registry project removed", () =>
      client.get(SupervisorNamespaceResource, registryProject).then(
        () => false,
        () => true,
      ),
    ).catch(() => undefined);
  }
  for (const h of hosts) await client.delete(ESXiHostResource, h).catch(() => undefined);
  await client.delete(TanzuKubernetesClusterResource, "doomed", tkcNs).catch(() => undefined);
  await eventually("TKC gone", () =>
    client.get(TanzuKubernetesClusterResource, "doomed", tkcNs).then(
      () => false,
      () => true,
    ),
  ).catch(() => undefined);
  await client.delete(Namespaces, tkcNs).catch(() => undefined);
  await mgr?.stop();
});

describe("Prometheus scraping the manager", () => {
  it("the chart's rules pass promtool and load healthy", async () => {
    const out = execFileSync("promtool", ["check", "rules", join(dir, "rules.yaml")], { encoding: "utf8" });
    expect(out).toMatch(/SUCCESS: 5 rules found/);
    await eventually("rules evaluated", async () => {
      const data = await api<{ groups: Array<{ rules: Array<{ name: string; health: string }> }> }>(
        "/api/v1/rules",
      );
      const rules = data.groups.flatMap((g) => g.rules);
      return rules.length === 5 && rules.every((r) => r.health === "ok");
    });
  });

  it("has the target up and controller_runtime_reconcile_total for every controller", async () => {
    await eventually("target up", async () => (await query(`up{job="${JOB}"}`)).result[0]?.value[1] === "1");
    const controllers = [
      "esxihost",
      "spherelet",
      "vspherepod",
      "hostfailure",
      "supervisornamespace",
      "storageclassbinding",
      "clusterclass",
      "registry",
      "cns-provisioner",
      "cns-reclaimer",
      "virtualmachine",
      "virtualmachineservice",
      "loadbalancer-service",
      "cluster",
      "kubeadmcontrolplane",
      "machinedeployment",
      "machine",
      "tanzukubernetescluster",
      "tanzukubernetesrelease",
    ];
    const series = await eventually("reconcile counts scraped", async () => {
      const r = (
        await query(`sum by (controller) (controller_runtime_reconcile_total{job="${JOB}",result!="error"})`)
      ).result;
      // Every controller's series (pre-initialised to 0), and the two hosts' reconciles counted.
      const esx = r.find((x) => x.metric.controller === "esxihost");
      return r.length >= controllers.length && Number(esx?.value[1]) >= hosts.length ? r : undefined;
    });
    expect(series.map((s) => s.metric.controller).sort()).toEqual([...controllers].sort());
  });

  it("has Pacific's host gauges with the hosts' capacity and state", async () => {
    const cap = await eventually("capacity gauges", async () => {
      const r = (await query(`pacific_esxihost_capacity_cpu_cores{job="${JOB}",cluster="prom-cluster"}`))
        .result;
      return r.length === hosts.length ? r : undefined;
    });
    expect(cap.map((s) => [s.metric.host, s.metric.zone, s.value[1]]).sort()).toEqual(
      hosts.map((h) => [h, "zone-p", "24"]).sort(),
    );
    const mem = (await query(`pacific_esxihost_capacity_memory_bytes{job="${JOB}",host="${hosts[0]}"}`))
      .result;
    expect(mem[0]?.value[1]).toBe(String(96 * 2 ** 30));
    const connected = await eventually("hosts connected", async () => {
      const r = (
        await query(
          `pacific_esxihost_connection_state{job="${JOB}",cluster="prom-cluster",state="connected"} == 1`,
        )
      ).result;
      return r.length === hosts.length ? r : undefined;
    });
    expect(connected).toHaveLength(hosts.length);
  });

  it("every metric the dashboard and the alerts use exists, and every dashboard query runs", async () => {
    const names = new Set(await api<string[]>("/api/v1/label/__name__/values"));
    const dashboard = JSON.parse(readFileSync(join(root, "charts/pacific/files/dashboard.json"), "utf8")) as {
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    const exprs = dashboard.panels.flatMap((p) =>
      (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })),
    );
    expect(exprs.length).toBeGreaterThan(10);
    const rules = readFileSync(join(dir, "rules.yaml"), "utf8");
    const used = new Set(
      [...exprs.map((e) => e.expr), rules]
        .join("\n")
        .match(
          /\b(pacific_[a-z_]+|controller_runtime_[a-z_]+|workqueue_[a-z_]+|rest_client_[a-z_]+|leader_election_[a-z_]+|process_[a-z_]+)\b/g,
        ),
    );
    // Without leader election (in-process test manager) there is no leader_election_master_status.
    // Without a registry (not the local control plane) there are no pacific_registry_* series.
    const missing = [...used].filter(
      (n) =>
        !names.has(n) &&
        n !== "leader_election_master_status" &&
        (registry !== undefined || !n.startsWith("pacific_registry_")),
    );
    expect(missing).toEqual([]);
    for (const { title, expr } of exprs) {
      const q = expr.replaceAll("$job", JOB).replaceAll("$__rate_interval", "1m");
      await expect(query(q), title).resolves.toBeDefined();
    }
  });

  it("fires PacificTanzuKubernetesClusterFailed for a TKC that cannot be made", async () => {
    const alert = await eventually(
      "TKC alert firing",
      async () =>
        (
          await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>("/api/v1/alerts")
        ).alerts.find(
          (a) => a.labels.alertname === "PacificTanzuKubernetesClusterFailed" && a.state === "firing",
        ),
      60_000,
    );
    expect(alert.labels).toMatchObject({ namespace: tkcNs, name: "doomed" });
  });

  it("fires PacificESXiHostNotResponding for a host whose heartbeats stop, and only for it", async () => {
    const failed = hosts[1]!;
    await client.patch(ESXiHostResource, failed, undefined, { spec: { simulation: { heartbeats: false } } });
    // The node controller's 50 s grace period, then the rule's 5 s `for`.
    const alert = await eventually(
      "alert firing",
      async () => {
        const data = await api<{ alerts: Array<{ labels: Record<string, string>; state: string }> }>(
          "/api/v1/alerts",
        );
        return data.alerts.find(
          (a) => a.labels.alertname === "PacificESXiHostNotResponding" && a.state === "firing",
        );
      },
      120_000,
    );
    expect(alert.labels.host).toBe(failed);
    expect(alert.labels.cluster).toBe("prom-cluster");
    const firing = (
      await api<{ alerts: Array<{ labels: Record<string, string> }> }>("/api/v1/alerts")
    ).alerts.filter(
      (a) => a.labels.alertname === "PacificESXiHostNotResponding" && a.labels.cluster === "prom-cluster",
    );
    expect(firing.map((a) => a.labels.host)).toEqual([failed]);
  }, 150_000);
});
