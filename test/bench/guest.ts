import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Secret } from "@kubernetes/client-node";
import * as k8s from "@kubernetes/client-node";
import { CapiLabels } from "../../controllers/api/contracts.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../controllers/api/run/tanzukubernetescluster.ts";
import {
  type VirtualMachine,
  VirtualMachineResource,
} from "../../controllers/api/vmoperator/virtualmachine.ts";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import { Namespaces, Secrets } from "../../controllers/runtime/resource.ts";
import {
  cpuSecondsOf,
  type Memory,
  memoryOf,
  pidsUnder,
  processesUnder,
  toolDir,
} from "../e2e/fixtures/processes.ts";
import { benchClient, environment, kubeConfig, percentile, pool, round } from "./common.ts";
import { installChart, pacific, resetCluster, rssMiB } from "./simulators.ts";

const GUESTS = Number(process.env.BENCH_GUESTS ?? 10);
const CP = Number(process.env.BENCH_GUEST_CP ?? 1);
const WORKERS = Number(process.env.BENCH_GUEST_WORKERS ?? 2);
const HOSTS = 10;
const NS = "bench-guest";
const STORAGE = "vsan-default-storage-policy";
const RELEASE = "v1.23.8---vmware.3-tkg.1";
const VIP_POOL = "127.0.146.1-127.0.146.50";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(500);
  }
}

/** `f` of each process by name (etcd, kube-apiserver, kube-controller…, kube-scheduler) of a guest. */
function byName(dir: string, f: (pid: number) => number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [pid, name] of processesUnder(dir)) out.set(name, (out.get(name) ?? 0) + f(pid));
  return out;
}
const rssByName = (dir: string) => byName(dir, (p) => memoryOf([p]).rss);
const cpuByName = (dir: string) => byName(dir, (p) => cpuSecondsOf([p]));

/** p50 over the guests of each process's RSS. */
function medianByName(guests: Array<Map<string, number>>): Record<string, number> {
  const names = new Set(guests.flatMap((g) => [...g.keys()]));
  const out: Record<string, number> = {};
  for (const n of names) {
    const sorted = guests.map((g) => g.get(n) ?? 0).sort((a, b) => a - b);
    out[n] = round(percentile(sorted, 50), 1);
  }
  return out;
}

/** True when the guest answers `get nodes` with `want` Nodes, all Ready. */
async function guestReady(kubeconfig: string, want: number): Promise<boolean> {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(kubeconfig);
  try {
    const nodes = await kc.makeApiClient(k8s.CoreV1Api).listNode();
    const ready = nodes.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    );
    return nodes.items.length === want && ready.length === want;
  } catch {
    return false;
  }
}

const tkcOf = (name: string): TanzuKubernetesCluster =>
  ({
    apiVersion: "run.tanzu.vmware.com/v1alpha3",
    kind: "TanzuKubernetesCluster",
    metadata: { name, namespace: NS },
    spec: {
      topology: {
        controlPlane: {
          replicas: CP,
          vmClass: "best-effort-small",
          storageClass: STORAGE,
          tkr: { reference: { name: RELEASE } },
        },
        nodePools: [
          { name: "workers", replicas: WORKERS, vmClass: "best-effort-small", storageClass: STORAGE },
        ],
      },
      settings: { storage: { defaultClass: STORAGE } },
    },
  }) as TanzuKubernetesCluster;

export async function guest(): Promise<void> {
  resetCluster();
  const client = benchClient(kubeConfig());
  await installChart(["guestClusters.runtime=local", `network.vipPool=${VIP_POOL}`]);
  const stateDir = mkdtempSync(join(tmpdir(), "pacific-bench-guests-"));
  process.env.PACIFIC_GUEST_STATE_DIR = stateDir;
  process.env.PACIFIC_KUBERNETES_BIN = toolDir("kubernetes");
  process.env.PACIFIC_ETCD_BIN = toolDir("etcd");
  const sim = pacific();
  await sim.start();
  const names = Array.from({ length: GUESTS }, (_, i) => `guest-${String(i).padStart(2, "0")}`);
  try {
    const hosts = Array.from({ length: HOSTS }, (_, i) => `esx-${String(i).padStart(2, "0")}`);
    await pool(hosts, 8, (name) =>
      client.create(ESXiHostResource, {
        apiVersion: "vsphere.pacific.dev/v1alpha1",
        kind: "ESXiHost",
        metadata: { name },
        spec: { clusterName: "bench", capacity: { cpu: 64, memory: "256Gi", pods: 110 } },
      }),
    );
    await client.create(SupervisorNamespaceResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "SupervisorNamespace",
      metadata: { name: NS },
      spec: { vmClasses: ["best-effort-small"] },
    });
    await client.create(StorageClassBindingResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "StorageClassBinding",
      metadata: { name: `${NS}-vsan` },
      spec: { namespace: NS, storageClass: STORAGE, limit: "10Ti" },
    });
    await until(
      "namespace bound",
      async () =>
        !!(await client.get(Namespaces, NS).catch(() => undefined))?.metadata?.annotations?.[
          "vsphere.pacific.dev/storage-classes"
        ],
      120_000,
    );

    // The last VM of each TKC powered on, by watch.
    const vmsOn = new Map<string, Set<string>>();
    const lastVmOn = new Map<string, number>();
    const vms = new Informer<VirtualMachine>(VirtualMachineResource, client, silentLogger, {
      namespace: NS,
      resyncMs: 0,
    });
    const onVm = (v: VirtualMachine) => {
      const tkc = v.metadata.labels?.[CapiLabels.capvClusterName];
      if (!tkc || v.status?.powerState !== "PoweredOn") return;
      const on = vmsOn.get(tkc) ?? new Set<string>();
      vmsOn.set(tkc, on);
      on.add(v.metadata.name ?? "");
      if (on.size === CP + WORKERS && !lastVmOn.has(tkc)) lastVmOn.set(tkc, performance.now());
    };
    vms.addHandler({ add: onVm, update: (_o, n) => onVm(n) });
    vms.start();
    await vms.waitForSync();

    const start = performance.now();
    await pool(names, 4, (name) => client.create(TanzuKubernetesClusterResource, tkcOf(name)));
    const ready = new Map<string, number>();
    // CPU seconds each guest's processes had used when it answered: with every guest starting at
    // once, their sum over the machine's cores is the least wall time the starts can take here.
    const cpuToReady = new Map<string, number>();
    const cpuToReadyByName: Array<Map<string, number>> = [];
    const deadline = Date.now() + 600_000;
    while (ready.size < GUESTS && Date.now() < deadline) {
      await pool(
        names.filter((n) => !ready.has(n)),
        4,
        async (name) => {
          const secret = await client.get<V1Secret>(Secrets, `${name}-kubeconfig`, NS).catch(() => undefined);
          const value = secret?.data?.value;
          if (!value) return;
          const kubeconfig = Buffer.from(value, "base64").toString("utf8");
          if (!(await guestReady(kubeconfig, CP + WORKERS))) return;
          ready.set(name, performance.now());
          cpuToReady.set(name, cpuSecondsOf(pidsUnder(join(stateDir, NS, name))));
          cpuToReadyByName.push(cpuByName(join(stateDir, NS, name)));
        },
      );
      await sleep(1000);
    }
    vms.stop();
    const after = names
      .map((n) => {
        const r = ready.get(n);
        const v = lastVmOn.get(n);
        return r !== undefined && v !== undefined ? (r - v) / 1000 : undefined;
      })
      .filter((x): x is number => x !== undefined)
      .sort((a, b) => a - b);
    const readyAt = [...ready.values()].map((t) => (t - start) / 1000).sort((a, b) => a - b);
    const cpu = [...cpuToReady.values()].sort((a, b) => a - b);
    const cores = availableParallelism();
    const memory = names.map((n) => memoryOf(pidsUnder(join(stateDir, NS, n)))).filter((m) => m.rss > 0);
    const sorted = (f: (m: Memory) => number) => memory.map(f).sort((a, b) => a - b);
    const [perGuest, anon, pss] = [sorted((m) => m.rss), sorted((m) => m.private), sorted((m) => m.pss)];
    const byProcess = medianByName(names.map((n) => rssByName(join(stateDir, NS, n))));
    const managerRss = rssMiB(sim.pid());
    const processes = names.reduce((s, n) => s + pidsUnder(join(stateDir, NS, n)).length, 0);

    // Deleting every TKC leaves nothing of its guest.
    await pool(names, 4, (name) => client.delete(TanzuKubernetesClusterResource, name, NS));
    const gone = async () =>
      pidsUnder(stateDir).length === 0 && names.every((n) => !existsSync(join(stateDir, NS, n)));
    await until("guests gone", gone, 180_000).catch(() => undefined);
    const leftProcesses = pidsUnder(stateDir).length;
    const leftDirs = names.filter((n) => existsSync(join(stateDir, NS, n))).length;

    console.log(
      JSON.stringify({
        scenario: "guest",
        guests: GUESTS,
        nodesPerGuest: CP + WORKERS,
        ready: ready.size,
        readySeconds: { p50: round(percentile(readyAt, 50)), p99: round(percentile(readyAt, 99)) },
        readyAfterLastVmSeconds: {
          p50: round(percentile(after, 50)),
          p99: round(percentile(after, 99)),
          max: round(after.at(-1) ?? Number.NaN),
        },
        cpuSecondsPerGuestToReady: {
          p50: round(percentile(cpu, 50)),
          max: round(cpu.at(-1) ?? Number.NaN),
          byProcessP50: medianByName(cpuToReadyByName),
        },
        // All guests' CPU to ready over the cores: no schedule of the starts beats it on this machine.
        cpuBoundSeconds: round(cpu.reduce((a, b) => a + b, 0) / cores),
        cores,
        rssMiBPerGuest: { p50: percentile(perGuest, 50), max: perGuest.at(-1), byProcessP50: byProcess },
        // The same without the shared pages (the four binaries' text, mapped once for every guest).
        privateMiBPerGuest: { p50: percentile(anon, 50), max: anon.at(-1) },
        // Each shared page divided among its sharers: what the guests really cost the machine, each.
        pssMiBPerGuest: { p50: percentile(pss, 50), max: pss.at(-1) },
        processesPerGuest: round(processes / GUESTS, 1),
        managerRssMiB: managerRss,
        afterDelete: { processes: leftProcesses, stateDirs: leftDirs },
        target: { readyAfterLastVmSeconds: 20, rssMiBPerGuest: 400 },
        met:
          ready.size === GUESTS &&
          (after.at(-1) ?? Number.POSITIVE_INFINITY) <= 20 &&
          (pss.at(-1) ?? Number.POSITIVE_INFINITY) <= 400 &&
          leftProcesses === 0,
        environment: await environment(client),
      }),
    );
  } finally {
    await sim.stop();
    // Whatever a failed run left: exactly the processes under this run's state directory.
    for (const p of pidsUnder(stateDir)) process.kill(p, "SIGKILL");
    rmSync(stateDir, { recursive: true, force: true });
  }
}
