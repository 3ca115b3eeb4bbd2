// The two node simulators under comparison, run one at a time on the same control plane:
// Pacific (ESXiHost → Node by the Spherelet) and kwok (kubernetes-sigs/kwok, built from the Go
// module proxy by hack/build-tools.sh kwok). Both run without client-side rate limits.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { V1Node } from "@kubernetes/client-node";
import type { KubeClient } from "../../controllers/runtime/client.ts";
import { Nodes } from "../../controllers/runtime/resource.ts";

/** The repository root, whether this runs from test/bench or compiled from dist/test/bench. */
export const root = join(
  import.meta.dirname,
  ...(import.meta.dirname.includes("/dist/") ? ["..", "..", ".."] : ["..", ".."]),
);

export interface Simulator {
  name: "pacific" | "kwok";
  /** Label selector matching the Nodes it simulates. */
  nodeSelector: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Creates host `name` (an ESXiHost for Pacific, a Node for kwok). */
  createHost(client: KubeClient, name: string): Promise<unknown>;
  pid(): number | undefined;
}

function spawnLogged(cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let tail = "";
  child.stderr?.on("data", (c: Buffer) => {
    tail = (tail + c.toString()).slice(-4000);
  });
  child.once("exit", (code, signal) => {
    if (!(child as { stopping?: boolean }).stopping)
      process.stderr.write(`${cmd} exited early: code ${code} signal ${signal}\n${tail}\n`);
  });
  return child;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  (child as { stopping?: boolean }).stopping = true;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 35_000))]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

/** Where the benchmarked manager serves /metrics; a cluster slot other than the default sets its own. */
export const benchManagerAddress = process.env.PACIFIC_BENCH_MANAGER_ADDRESS ?? "127.0.0.1:18090";

export function pacific(): Simulator {
  let child: ChildProcess | undefined;
  return {
    name: "pacific",
    nodeSelector: "vsphere.pacific.dev/esxi-host",
    async start() {
      const main = join(root, "dist", "controllers", "main.js");
      child = spawnLogged(
        process.execPath,
        [
          // BENCH_MANAGER_NODE_ARGS: flags for the manager's node, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
          ...(process.env.BENCH_MANAGER_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
          main,
          "--leader-elect=false",
          `--bind-address=${benchManagerAddress}`,
          "--kube-api-qps=0",
          "--log-level=warn",
        ],
        process.env,
      );
    },
    stop: () => stopChild(child),
    createHost: (client, name) =>
      client.create(
        {
          group: "vsphere.pacific.dev",
          version: "v1alpha1",
          plural: "esxihosts",
          kind: "ESXiHost",
          namespaced: false,
        },
        {
          apiVersion: "vsphere.pacific.dev/v1alpha1",
          kind: "ESXiHost",
          metadata: { name },
          spec: { capacity: { cpu: 32, memory: "256Gi", pods: 110 } },
        },
      ),
    pid: () => child?.pid,
  };
}

export function kwok(): Simulator {
  let child: ChildProcess | undefined;
  return {
    name: "kwok",
    nodeSelector: "type=kwok",
    async start() {
      const dir = execFileSync("bash", [join(root, "hack", "build-tools.sh"), "--print-dir", "kwok"], {
        encoding: "utf8",
      }).trim();
      const stages = readdirSync(join(dir, "stages")).map((f) => `--config=${join(dir, "stages", f)}`);
      child = spawnLogged(
        join(dir, "kwok"),
        [
          ...stages,
          `--kubeconfig=${process.env.KUBECONFIG}`,
          "--manage-all-nodes=false",
          "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
          "--node-lease-duration-seconds=40",
          "--cidr=10.0.0.0/16",
          "--node-ip=10.1.0.1",
          `--server-address=${process.env.PACIFIC_BENCH_KWOK_ADDRESS ?? "127.0.0.1:18091"}`,
        ],
        process.env,
      );
    },
    stop: () => stopChild(child),
    createHost: (client, name) =>
      client.create<V1Node>(Nodes, {
        apiVersion: "v1",
        kind: "Node",
        metadata: {
          name,
          annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
          labels: { type: "kwok", "kubernetes.io/hostname": name, "kubernetes.io/role": "agent" },
        },
        status: {
          allocatable: { cpu: "32", memory: "256Gi", pods: "110" },
          capacity: { cpu: "32", memory: "256Gi", pods: "110" },
        },
      }),
    pid: () => child?.pid,
  };
}

/**
 * Installs Pacific's chart without the manager (replicas=0), as `npm test` and `npm run up` do: the
 * CRDs, the admission policy and the roles come from the chart, and a later `helm install` on the
 * same cluster finds them its own. `sets`: extra `--set` values.
 */
export async function installChart(sets: string[] = []): Promise<void> {
  const helmDir = execFileSync("bash", [join(root, "hack", "build-tools.sh"), "--print-dir", "helm"], {
    encoding: "utf8",
  }).trim();
  execFileSync(
    join(helmDir, "helm"),
    [
      "upgrade",
      "--install",
      "pacific",
      join(root, "charts", "pacific"),
      "--namespace",
      "pacific-system",
      "--create-namespace",
      "--set",
      "replicas=0",
      ...sets.flatMap((s) => ["--set", s]),
      "--wait",
    ],
    { stdio: "ignore", timeout: 180_000 },
  );
  await new Promise((r) => setTimeout(r, 2000)); // let the new endpoints come up
}

/** A fresh etcd for each simulator (docs/performance.md): the local control plane is torn down and started again. */
export function resetCluster(): void {
  execFileSync("bash", [join(root, "hack", "cluster.sh"), "down"], { stdio: "ignore" });
  execFileSync("bash", [join(root, "hack", "cluster.sh"), "up"], { stdio: "ignore", timeout: 180_000 });
}

export function rssMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Sum of mutating requests the API server has served (apiserver_request_total). */
export async function apiserverWrites(client: KubeClient): Promise<number> {
  let sum = 0;
  for (const n of (await apiserverWritesBy(client)).values()) sum += n;
  return sum;
}

/**
 * Mutating requests the API server has served, keyed "VERB resource[/subresource]" (every code
 * summed): the per-kind breakdown that says which write a change added or removed.
 */
export async function apiserverWritesBy(client: KubeClient): Promise<Map<string, number>> {
  const text = await client.request<string>("GET", "/metrics", { raw: true });
  const by = new Map<string, number>();
  for (const line of String(text).split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const verb = /verb="(POST|PUT|PATCH|DELETE|APPLY)"/.exec(line)?.[1];
    if (!verb) continue;
    const resource = /[{,]resource="([^"]*)"/.exec(line)?.[1] ?? "";
    const sub = /subresource="([^"]*)"/.exec(line)?.[1];
    const key = `${verb} ${resource}${sub ? `/${sub}` : ""}`;
    by.set(key, (by.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return by;
}

/**
 * Mutating requests the benchmarked manager has made (its rest_client_requests_total, by method):
 * what the API server served minus this is kube-controller-manager's, the scheduler's and the
 * benchmark's own.
 */
export async function managerWritesBy(): Promise<Map<string, number>> {
  const text = await fetch(`http://${benchManagerAddress}/metrics`).then((r) => r.text());
  const by = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("rest_client_requests_total{")) continue;
    const method = /method="(POST|PUT|PATCH|DELETE)"/.exec(line)?.[1];
    if (method) by.set(method, (by.get(method) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return by;
}

/** `after − before` per key, divided by `per` (writes per object), largest first, zero rows dropped. */
export function writesPer(
  before: Map<string, number>,
  after: Map<string, number>,
  per: number,
): Record<string, number> {
  const rows: [string, number][] = [];
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) rows.push([k, Math.round((d / Math.max(1, per)) * 100) / 100]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(rows);
}
