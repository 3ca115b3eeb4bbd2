// Scenario `tkc`: 50 TanzuKubernetesClusters of 3 control-plane + 3 worker VMs (guaranteed-small:
// 2 vCPUs and 4Gi reserved each) on 100 ESXi hosts, zero boot delay. From the first create to every
// TKC running (watch-observed). Reports the time, VMs/s, host balance (max/min VMs per host), the
// most-allocated host against its capacity, API writes per VM, the manager's RSS and the stage
// timeline (timeline.ts: which hop of TKC → Cluster → KCP → Machine → VM the time went to).
// Target (issue "Tanzu Kubernetes Clusters..."): all running ≤ 60 s with no host over capacity.
import type { TanzuKubernetesCluster } from "../../controllers/api/run/tanzukubernetescluster.ts";
import { TanzuKubernetesClusterResource } from "../../controllers/api/run/tanzukubernetescluster.ts";
import { TanzuKubernetesReleaseResource } from "../../controllers/api/run/tanzukubernetesrelease.ts";
import {
  type VirtualMachine,
  VirtualMachineResource,
} from "../../controllers/api/vmoperator/virtualmachine.ts";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import type { KubeObject } from "../../controllers/runtime/client.ts";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import { Namespaces } from "../../controllers/runtime/resource.ts";
import { benchClient, environment, kubeConfig, pool, round } from "./common.ts";
import {
  apiserverWritesBy,
  benchManagerAddress,
  installChart,
  pacific,
  resetCluster,
  rssMiB,
  writesPer,
} from "./simulators.ts";
import { Timeline } from "./timeline.ts";

const CLUSTERS = Number(process.env.BENCH_TKCS ?? 50);
const HOSTS = Number(process.env.BENCH_TKC_HOSTS ?? 100);
const NS = "bench-tkc";
const STORAGE = "vsan-default-storage-policy";
const RELEASE = "v1.23.8---vmware.3-tkg.1";

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function tkc(): Promise<void> {
  resetCluster();
  const client = benchClient(kubeConfig());
  await installChart();
  const sim = pacific();
  await sim.start();
  try {
    const hosts = Array.from({ length: HOSTS }, (_, i) => `esx-${String(i).padStart(3, "0")}`);
    await pool(hosts, 16, (name) =>
      client.create(ESXiHostResource, {
        apiVersion: "vsphere.pacific.dev/v1alpha1",
        kind: "ESXiHost",
        metadata: { name },
        spec: {
          clusterName: "bench",
          zone: `zone-${Number(name.slice(4)) % 3}`,
          capacity: { cpu: 16, memory: "64Gi", pods: 110 },
        },
      }),
    );
    await client.create(SupervisorNamespaceResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "SupervisorNamespace",
      metadata: { name: NS },
      spec: { vmClasses: ["guaranteed-small"] },
    });
    await client.create(StorageClassBindingResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "StorageClassBinding",
      metadata: { name: `${NS}-vsan` },
      spec: { namespace: NS, storageClass: STORAGE, limit: "10Ti" },
    });
    await until("hosts connected", async () => {
      const list = await client.list<ESXiHost>(ESXiHostResource);
      return list.items.filter((h) => h.status?.connectionState === "connected").length === HOSTS;
    });
    await until(
      "namespace bound",
      async () =>
        !!(await client.get<KubeObject>(Namespaces, NS)).metadata?.annotations?.[
          "vsphere.pacific.dev/storage-classes"
        ],
    );
    await until("release", () =>
      client.get(TanzuKubernetesReleaseResource, RELEASE).then(
        () => true,
        () => false,
      ),
    );

    const done = new Map<string, number>();
    const inf = new Informer<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, client, silentLogger, {
      resyncMs: 0,
    });
    const timeline = new Timeline(client, NS);
    const check = (t: TanzuKubernetesCluster) => {
      if (!done.has(t.metadata.name!) && t.status?.phase === "running") {
        done.set(t.metadata.name!, performance.now());
        timeline.mark("running", t.metadata.name!);
      }
    };
    inf.addHandler({ add: check, update: (_o, n) => check(n) });
    inf.start();
    await inf.waitForSync();
    await timeline.start();
    const writesBefore = await apiserverWritesBy(client);

    const names = Array.from({ length: CLUSTERS }, (_, i) => `tkc-${String(i).padStart(2, "0")}`);
    const start = performance.now();
    timeline.begin();
    await pool(names, 16, (name) =>
      client.create(TanzuKubernetesClusterResource, {
        apiVersion: "run.tanzu.vmware.com/v1alpha3",
        kind: "TanzuKubernetesCluster",
        metadata: { name, namespace: NS },
        spec: {
          topology: {
            controlPlane: {
              replicas: 3,
              vmClass: "guaranteed-small",
              storageClass: STORAGE,
              tkr: { reference: { name: RELEASE } },
            },
            nodePools: [{ name: "workers", replicas: 3, vmClass: "guaranteed-small", storageClass: STORAGE }],
          },
        },
      }),
    );
    const deadline = Date.now() + 300_000;
    while (done.size < CLUSTERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const seconds = (Math.max(...done.values(), performance.now()) - start) / 1000;
    const allSeconds = done.size === CLUSTERS ? (Math.max(...done.values()) - start) / 1000 : undefined;
    inf.stop();
    timeline.stop();
    await new Promise((r) => setTimeout(r, 2000));
    const writesAfter = await apiserverWritesBy(client);
    let writes = 0;
    for (const [k, v] of writesAfter) writes += v - (writesBefore.get(k) ?? 0);

    const vms = (await client.list<VirtualMachine>(VirtualMachineResource, { namespace: NS })).items;
    const perHost = new Map(hosts.map((h) => [h, 0]));
    for (const v of vms)
      if (v.status?.host) perHost.set(v.status.host, (perHost.get(v.status.host) ?? 0) + 1);
    const counts = [...perHost.values()];
    // Over capacity: each host's VM reservations (guaranteed-small: 2 vCPUs, 4Gi) against its capacity.
    let worst = 0;
    let over = 0;
    for (const n of counts) {
      const used = Math.max((n * 2) / 16, (n * 4) / 64);
      worst = Math.max(worst, used);
      if (used > 1) over++;
    }
    console.log(
      JSON.stringify({
        scenario: "tkc",
        clusters: CLUSTERS,
        vmsPerCluster: 6,
        hosts: HOSTS,
        running: done.size,
        allRunningSeconds: allSeconds === undefined ? null : round(allSeconds),
        vmsPerSecond: round(vms.filter((v) => v.status?.powerState === "PoweredOn").length / seconds, 1),
        vms: vms.length,
        hostBalance: { maxVMs: Math.max(...counts), minVMs: Math.min(...counts) },
        hostsOverCapacity: over,
        mostAllocatedHost: round(worst, 3),
        writesPerVM: round(writes / Math.max(1, vms.length), 1),
        writesPerVMByKind: writesPer(writesBefore, writesAfter, vms.length),
        rssMiB: rssMiB(sim.pid()),
        // Seconds after the first create at which each TKC's pipeline reached each stage (p50/p90).
        stages: timeline.summary(),
        target: { allRunningSeconds: 60, hostsOverCapacity: 0 },
        met: allSeconds !== undefined && allSeconds <= 60 && over === 0,
        environment: await environment(client),
      }),
    );
    // BENCH_TKC_METRICS=<file>: the manager's /metrics at the end, to see which controller's queue waited.
    if (process.env.BENCH_TKC_METRICS) {
      const { writeFileSync } = await import("node:fs");
      writeFileSync(
        process.env.BENCH_TKC_METRICS,
        await fetch(`http://${benchManagerAddress}/metrics`).then((r) => r.text()),
      );
    }
  } finally {
    await sim.stop();
  }
}
