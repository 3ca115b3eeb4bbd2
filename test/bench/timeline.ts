// The tkc bench's stage timeline: when, after a TKC's create, each object of its pipeline is first
// seen by a watch and first reaches its milestone (TKC → Cluster → KCP → Machine → VM → PoweredOn →
// control plane initialized → all VMs on → TKC running). Reports the p50 and p90 of each stage over
// all TKCs, so a slower run says which hop it lost time in. Watch-observed with performance.now(),
// not creationTimestamps (whole seconds).
import { type Cluster, ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../../controllers/api/cluster/machine.ts";
import { CapiLabels } from "../../controllers/api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../controllers/api/controlplane/kubeadmcontrolplane.ts";
import {
  type VirtualMachine,
  VirtualMachineResource,
} from "../../controllers/api/vmoperator/virtualmachine.ts";
import type { KubeClient, KubeObject } from "../../controllers/runtime/client.ts";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import type { ResourceType } from "../../controllers/runtime/resource.ts";
import { percentile, round } from "./common.ts";

interface Watch<T extends KubeObject> {
  rt: ResourceType<T>;
  /** The TKC (= Cluster) an object belongs to. */
  owner: (o: T) => string | undefined;
  /** Stage name → milestone; the first time an object of that TKC meets it is recorded. */
  stages: Record<string, (o: T) => boolean>;
}

const clusterOf = (o: KubeObject) => o.metadata?.labels?.[CapiLabels.clusterName];
const always = () => true;

const watches = [
  {
    rt: ClusterResource,
    owner: (c: Cluster) => c.metadata.name,
    stages: {
      cluster: always,
      cpInitialized: (c: Cluster) =>
        !!c.status?.conditions?.some((x) => x.type === "ControlPlaneInitialized" && x.status === "True"),
    },
  } satisfies Watch<Cluster>,
  {
    rt: KubeadmControlPlaneResource,
    owner: clusterOf,
    stages: { kcp: always },
  } satisfies Watch<KubeadmControlPlane>,
  {
    rt: MachineResource,
    owner: (m: Machine) => m.spec.clusterName,
    stages: { machine1: always },
  } satisfies Watch<Machine>,
  {
    rt: VirtualMachineResource,
    owner: (v: VirtualMachine) => v.metadata.labels?.[CapiLabels.capvClusterName],
    stages: {
      vm1: always,
      vm1On: (v: VirtualMachine) => v.status?.powerState === "PoweredOn",
    },
  } satisfies Watch<VirtualMachine>,
];

/** Watches the pipeline's kinds in a namespace from before the TKCs are created. */
export class Timeline {
  private readonly seen = new Map<string, Map<string, number>>();
  private readonly informers: Informer<KubeObject>[] = [];
  private t0 = 0;

  constructor(client: KubeClient, namespace: string) {
    for (const w of watches as unknown as Watch<KubeObject>[]) {
      const inf = new Informer<KubeObject>(w.rt, client, silentLogger, { namespace, resyncMs: 0 });
      const check = (o: KubeObject) => {
        const owner = w.owner(o);
        if (!owner) return;
        for (const [stage, met] of Object.entries(w.stages)) if (met(o)) this.mark(stage, owner);
      };
      inf.addHandler({ add: check, update: (_old, o) => check(o) });
      this.informers.push(inf);
    }
  }

  async start(): Promise<void> {
    for (const inf of this.informers) inf.start();
    await Promise.all(this.informers.map((i) => i.waitForSync()));
  }

  /** t0 of every TKC (they are created together, within the create pool's spread). */
  begin(): void {
    this.t0 = performance.now();
  }

  mark(stage: string, tkc: string, at = performance.now()): void {
    const m = this.seen.get(stage) ?? new Map<string, number>();
    this.seen.set(stage, m);
    if (!m.has(tkc)) m.set(tkc, at);
  }

  stop(): void {
    for (const inf of this.informers) inf.stop();
  }

  /** Stage → { p50, p90 } seconds after the first create, in pipeline order. */
  summary(): Record<string, { p50: number; p90: number; n: number }> {
    const order = ["cluster", "kcp", "machine1", "vm1", "vm1On", "cpInitialized", "running"];
    const out: Record<string, { p50: number; p90: number; n: number }> = {};
    for (const stage of order) {
      const times = [...(this.seen.get(stage)?.values() ?? [])]
        .map((t) => (t - this.t0) / 1000)
        .sort((a, b) => a - b);
      if (times.length === 0) continue;
      out[stage] = { p50: round(percentile(times, 50)), p90: round(percentile(times, 90)), n: times.length };
    }
    return out;
  }
}
