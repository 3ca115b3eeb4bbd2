// The TanzuKubernetesCluster controller: checks what only the cluster's state can judge (the
// release exists, the VM classes are in the namespace, the storage classes are bound), makes the
// Cluster API graph (desired.ts), upgrades the control plane before the node pools, reports phase,
// conditions, endpoints and the node and VM maps, and on deletion removes the Cluster in the
// foreground (everything below goes with it, also what is already gone) before letting go.
import type { V1Namespace } from "@kubernetes/client-node";
import { Gauge } from "prom-client";
import { type Cluster, ClusterResource } from "../api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../api/cluster/machine.ts";
import { type MachineDeployment, MachineDeploymentResource } from "../api/cluster/machinedeployment.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
  type TanzuKubernetesClusterStatus,
} from "../api/run/tanzukubernetescluster.ts";
import {
  type TanzuKubernetesRelease,
  TanzuKubernetesReleaseResource,
} from "../api/run/tanzukubernetesrelease.ts";
import { type VirtualMachine, VirtualMachineResource } from "../api/vmoperator/virtualmachine.ts";
import {
  type VirtualMachineClass,
  VirtualMachineClassResource,
} from "../api/vmoperator/virtualmachineclass.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../api/vmoperator/virtualmachineservice.ts";
import { clusterOf, Labels } from "../capi/labels.ts";
import type { KubeClient, KubeObject } from "../runtime/client.ts";
import {
  type Condition,
  findCondition,
  type NewCondition,
  setConditions,
  summarizeReady,
} from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isAlreadyExists, isNotFound } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { hasFinalizer, isControlledBy, withFinalizer, withoutFinalizer } from "../runtime/owner.ts";
import { deepEqual, overlayPatch } from "../runtime/patch.ts";
import { Namespaces, type ResourceType, Secrets } from "../runtime/resource.ts";
import { storageAllowed } from "../vmservice/vm.ts";
import {
  desiredCluster,
  desiredControlPlane,
  desiredKubeconfig,
  desiredNodePool,
  desiredService,
  names,
  releaseOf,
  upgradesFrom,
} from "./desired.ts";

export const FINALIZER = "tanzukubernetescluster.run.tanzu.vmware.com";
export const CLUSTER_INDEX = "tkcCluster";
const PHASES = ["creating", "running", "updating", "deleting", "failed"] as const;

export interface TKCCaches {
  tkcs: Informer<TanzuKubernetesCluster>;
  releases: Informer<TanzuKubernetesRelease>;
  clusters: Informer<Cluster>;
  kcps: Informer<KubeadmControlPlane>;
  mds: Informer<MachineDeployment>;
  machines: Informer<Machine>;
  vms: Informer<VirtualMachine>;
  vmServices: Informer<VirtualMachineService>;
  classes: Informer<VirtualMachineClass>;
  namespaces: Informer<V1Namespace>;
}

type Pool = NonNullable<TanzuKubernetesCluster["spec"]["topology"]["nodePools"]>[number];

export class TKCReconciler implements Reconciler {
  /**
   * Kubeconfig Secrets made (by TKC uid): the manager may create Secrets but not read them, so it
   * creates each once per process (AlreadyExists after a restart is no failure) — no cache of
   * the cluster's Secrets, no list, watch or get on them (issue 19, finding 16).
   */
  private readonly kubeconfigsMade = new Set<string>();

  constructor(
    private readonly client: KubeClient,
    private readonly c: TKCCaches,
    private readonly events: EventRecorder,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const tkc = this.c.tkcs.store.get(`${req.namespace}/${req.name}`);
    if (!tkc) return undefined;
    const ns = req.namespace!;
    const name = req.name;
    const cluster = this.c.clusters.store.get(`${ns}/${names.cluster(name)}`);

    if (tkc.metadata.deletionTimestamp) {
      if (!hasFinalizer(tkc.metadata, FINALIZER)) return undefined;
      await this.writeStatus(tkc, { ...tkc.status, phase: "deleting" }, []);
      if (cluster && isControlledBy(cluster.metadata, tkc.metadata.uid)) {
        if (!cluster.metadata.deletionTimestamp)
          await this.client
            .delete(ClusterResource, cluster.metadata.name!, ns, { propagationPolicy: "Foreground" })
            .catch(ignoreNotFound);
        return { requeueAfter: 2_000 };
      }
      // The Cluster is gone; its machines and VMs went before it (foreground), unless some were
      // orphaned by hand: those are the garbage collector's.
      if (
        this.c.vms.store
          .list()
          .some((v) => v.metadata.namespace === ns && v.metadata.labels?.[Labels.clusterName] === name)
      )
        return { requeueAfter: 2_000 };
      await this.client.patch(TanzuKubernetesClusterResource, name, ns, {
        metadata: {
          finalizers: withoutFinalizer(tkc.metadata, FINALIZER),
          resourceVersion: tkc.metadata.resourceVersion,
        },
      });
      log.info("deleted");
      return undefined;
    }
    if (!hasFinalizer(tkc.metadata, FINALIZER)) {
      await this.client.patch(TanzuKubernetesClusterResource, name, ns, {
        metadata: {
          finalizers: withFinalizer(tkc.metadata, FINALIZER),
          resourceVersion: tkc.metadata.resourceVersion,
        },
      });
      return undefined; // the update brings us back
    }

    // What only the cluster's state can judge.
    const release = this.c.releases.store.get(releaseOf(tkc) ?? "");
    const problem = this.validate(tkc, release);
    const g = tkc.metadata.generation;
    const tkrCond: NewCondition = release
      ? {
          type: "TanzuKubernetesReleaseCompatible",
          status: "True",
          reason: "Compatible",
          message: "",
          observedGeneration: g,
        }
      : {
          type: "TanzuKubernetesReleaseCompatible",
          status: "False",
          reason: "TKRNotFound",
          message: `TanzuKubernetesRelease ${releaseOf(tkc)} does not exist (kubectl get tkr)`,
          observedGeneration: g,
        };
    if (problem) {
      this.events.event(tkc, "Warning", problem.reason, "Validate", problem.message);
      await this.writeStatus(tkc, { ...tkc.status, phase: "failed" }, [
        tkrCond,
        {
          type: "Ready",
          status: "False",
          reason: problem.reason,
          message: problem.message,
          observedGeneration: g,
        },
      ]);
      return undefined; // a class, binding or release appearing wakes us
    }

    // The graph, top down: the Cluster first (the rest is owned by it).
    const vmService = this.c.vmServices.store.get(`${ns}/${names.service(name)}`);
    const vip = vmService?.status?.loadBalancer?.ingress?.[0]?.ip;
    const wantCluster = desiredCluster(tkc, release!.metadata.name!, vip);
    if (!cluster) {
      await this.create(ClusterResource, wantCluster);
      return undefined; // the Cluster's arrival in the cache brings us back
    }
    if (!isControlledBy(cluster.metadata, tkc.metadata.uid)) {
      const message = `a Cluster named ${name} exists and does not belong to this TanzuKubernetesCluster`;
      await this.writeStatus(tkc, { ...tkc.status, phase: "failed" }, [
        tkrCond,
        { type: "Ready", status: "False", reason: "ClusterConflict", message, observedGeneration: g },
      ]);
      return undefined;
    }
    await this.sync(ClusterResource, cluster, wantCluster);

    const kcp = this.c.kcps.store.get(`${ns}/${names.controlPlane(name)}`);
    const wantKcp = desiredControlPlane(tkc, cluster, release!);
    await this.sync(KubeadmControlPlaneResource, kcp, wantKcp);
    const target = release!.spec.kubernetes.version;
    // Control plane first: node pools move to the new version once every control-plane machine runs it.
    const cpDone =
      !!kcp &&
      kcp.spec.version === target &&
      kcp.status?.version === target &&
      kcp.status.updatedReplicas === kcp.spec.replicas &&
      kcp.status.readyReplicas === kcp.spec.replicas &&
      kcp.status.replicas === kcp.spec.replicas;
    const pools = tkc.spec.topology.nodePools ?? [];
    for (const pool of pools) {
      const md = this.c.mds.store.get(`${ns}/${names.nodePool(name, pool.name)}`);
      const version = cpDone ? target : (md?.spec.template.spec?.version ?? kcp?.status?.version ?? target);
      await this.sync(MachineDeploymentResource, md, desiredNodePool(tkc, cluster, pool, release!, version));
    }
    // Pools removed from the spec: their MachineDeployments go (and their machines with them).
    const wanted = new Set(pools.map((p) => names.nodePool(name, p.name)));
    for (const md of this.c.mds.store.list()) {
      if (md.metadata.namespace !== ns || md.metadata.labels?.[Labels.clusterName] !== name) continue;
      if (
        !wanted.has(md.metadata.name!) &&
        !md.metadata.deletionTimestamp &&
        isControlledBy(md.metadata, cluster.metadata.uid)
      )
        await this.client
          .delete(MachineDeploymentResource, md.metadata.name!, ns, { propagationPolicy: "Foreground" })
          .catch(ignoreNotFound);
    }
    await this.sync(VirtualMachineServiceResource, vmService, desiredService(tkc, cluster));
    if (vip) {
      if (!this.kubeconfigsMade.has(tkc.metadata.uid!)) {
        await this.create(Secrets, desiredKubeconfig(tkc, cluster, vip));
        this.kubeconfigsMade.add(tkc.metadata.uid!);
      }
    }

    await this.writeStatus(tkc, this.status(tkc, kcp, pools, release!, vip), [
      tkrCond,
      ...this.conditions(tkc, kcp, pools),
    ]);
    return undefined;
  }

  private validate(
    tkc: TanzuKubernetesCluster,
    release: TanzuKubernetesRelease | undefined,
  ): { reason: string; message: string } | undefined {
    const ns = tkc.metadata.namespace!;
    if (!release)
      return {
        reason: "TKRNotFound",
        message: `TanzuKubernetesRelease ${releaseOf(tkc)} does not exist (kubectl get tkr)`,
      };
    const topo = tkc.spec.topology;
    const wanted = [
      {
        what: "control plane",
        vmClass: topo.controlPlane.vmClass,
        storageClass: topo.controlPlane.storageClass,
      },
      ...(topo.nodePools ?? []).map((p) => ({
        what: `node pool ${p.name}`,
        vmClass: p.vmClass,
        storageClass: p.storageClass,
      })),
    ];
    for (const w of wanted)
      if (!this.c.classes.store.get(`${ns}/${w.vmClass}`))
        return {
          reason: "VMClassNotFound",
          message: `VirtualMachineClass ${w.vmClass} (${w.what}) is not available in namespace ${ns}: add it to the Supervisor Namespace's vmClasses`,
        };
    const annotations = this.c.namespaces.store.get(ns)?.metadata?.annotations;
    for (const w of wanted)
      if (!storageAllowed(w.storageClass, annotations))
        return {
          reason: "StorageClassNotFound",
          message: `storage class ${w.storageClass} (${w.what}) is not bound to namespace ${ns}: a StorageClassBinding grants it`,
        };
    return undefined;
  }

  private machinesOf(tkc: TanzuKubernetesCluster): Machine[] {
    return this.c.machines.store.byIndex(CLUSTER_INDEX, `${tkc.metadata.namespace}/${tkc.metadata.name}`);
  }

  private conditions(
    tkc: TanzuKubernetesCluster,
    kcp: KubeadmControlPlane | undefined,
    pools: Pool[],
  ): NewCondition[] {
    const g = tkc.metadata.generation;
    const ns = tkc.metadata.namespace!;
    const ready = (o: { status?: { conditions?: unknown } } | undefined) =>
      findCondition(o?.status?.conditions as Condition[] | undefined, "Ready");
    const cp = ready(kcp);
    const cpCond: NewCondition =
      cp?.status === "True"
        ? { type: "ControlPlaneReady", status: "True", reason: "Ready", message: "", observedGeneration: g }
        : {
            type: "ControlPlaneReady",
            status: "False",
            reason: cp?.reason || "WaitingForControlPlaneInitialized",
            message: cp?.message ?? "",
            observedGeneration: g,
          };
    const notReady = pools
      .map((p) => ({
        p,
        c: ready(this.c.mds.store.get(`${ns}/${names.nodePool(tkc.metadata.name!, p.name)}`)),
      }))
      .filter((x) => x.c?.status !== "True");
    const poolsCond: NewCondition =
      notReady.length === 0
        ? { type: "NodePoolsReady", status: "True", reason: "Ready", message: "", observedGeneration: g }
        : {
            type: "NodePoolsReady",
            status: "False",
            reason: notReady[0]!.c?.reason || "NodePoolsUpdating",
            message: `node pool ${notReady[0]!.p.name}: ${notReady[0]!.c?.message ?? "waiting"}`,
            observedGeneration: g,
          };
    const machines = this.machinesOf(tkc).filter((m) => !m.metadata.deletionTimestamp);
    const unhealthy = machines.filter((m) => m.status?.phase !== "Running");
    const nodesCond: NewCondition =
      unhealthy.length === 0
        ? { type: "NodesHealthy", status: "True", reason: "Ready", message: "", observedGeneration: g }
        : {
            type: "NodesHealthy",
            status: "False",
            reason: "NodesNotReady",
            message: `${unhealthy.length} of ${machines.length} nodes not running`,
            observedGeneration: g,
          };
    const upgrades = upgradesFrom(kcp?.status?.version, this.c.releases.store.list());
    const updates: NewCondition = upgrades.length
      ? {
          type: "UpdatesAvailable",
          status: "True",
          reason: "UpdatesAvailable",
          message: `[${upgrades.join(" ")}]`,
          observedGeneration: g,
        }
      : {
          type: "UpdatesAvailable",
          status: "False",
          reason: "AlreadyUpToDate",
          message: "",
          observedGeneration: g,
        };
    return [cpCond, poolsCond, nodesCond, updates];
  }

  private status(
    tkc: TanzuKubernetesCluster,
    kcp: KubeadmControlPlane | undefined,
    pools: Pool[],
    release: TanzuKubernetesRelease,
    vip: string | undefined,
  ): TanzuKubernetesClusterStatus {
    const machines = this.machinesOf(tkc);
    const nodeStatus: Record<string, "pending" | "ready" | "notready"> = {};
    const vmStatus: Record<string, "pending" | "created" | "poweredon" | "ready" | "deleting" | "error"> = {};
    for (const m of machines) {
      nodeStatus[m.metadata.name!] =
        m.status?.phase === "Running" ? "ready" : m.status?.phase === "Provisioning" ? "pending" : "notready";
      const vm = this.c.vms.store.get(`${m.metadata.namespace}/${m.metadata.name}`);
      const created = findCondition(
        vm?.status?.conditions as Condition[] | undefined,
        "VirtualMachineCreated",
      );
      vmStatus[m.metadata.name!] = !vm
        ? "pending"
        : vm.metadata.deletionTimestamp
          ? "deleting"
          : created?.status === "False" && created.reason !== "NotReady"
            ? "error"
            : vm.status?.powerState === "PoweredOn"
              ? "ready"
              : created?.status === "True"
                ? "created"
                : "pending";
    }
    const target = release.spec.kubernetes.version;
    const allRunning =
      machines.length > 0 &&
      machines.every((m) => m.status?.phase === "Running" && !m.metadata.deletionTimestamp);
    const expected = (kcp?.spec.replicas ?? 0) + pools.reduce((n, p) => n + p.replicas, 0);
    const upToDate = machines.every((m) => m.spec.version === target);
    const settled = allRunning && machines.length === expected && upToDate;
    const wasRunning = tkc.status?.phase === "running" || tkc.status?.phase === "updating";
    const versionChanged = !!tkc.status?.version && tkc.status.version !== target;
    const phase = settled
      ? "running"
      : wasRunning && (versionChanged || !upToDate)
        ? "updating"
        : wasRunning
          ? "running"
          : "creating";
    return {
      ...tkc.status,
      observedGeneration: tkc.metadata.generation,
      phase: phase === "running" && !settled && !wasRunning ? "creating" : phase,
      apiEndpoints: vip ? [{ host: vip, port: 6443 }] : [],
      version: settled ? target : (tkc.status?.version ?? undefined),
      totalWorkerReplicas: pools.reduce((n, p) => n + p.replicas, 0),
      nodeStatus,
      vmStatus,
    };
  }

  private async writeStatus(
    tkc: TanzuKubernetesCluster,
    status: TanzuKubernetesClusterStatus,
    conds: NewCondition[],
  ) {
    let conditions = setConditions(tkc.status?.conditions as Condition[] | undefined, conds);
    if (!conds.some((c) => c.type === "Ready"))
      conditions = setConditions(conditions, [
        {
          ...summarizeReady(conditions, ["ControlPlaneReady", "NodePoolsReady"]),
          observedGeneration: tkc.metadata.generation,
        },
      ]);
    const next = JSON.parse(JSON.stringify({ ...status, conditions }));
    if (!deepEqual(next, tkc.status))
      // Gone meanwhile (its deletion finished): nothing left to report on, and no failure.
      await this.client
        .patch(
          TanzuKubernetesClusterResource,
          tkc.metadata.name!,
          tkc.metadata.namespace,
          { status: { ...nullOut(tkc.status, next), ...next } },
          { subresource: "status" },
        )
        .catch(ignoreNotFound);
  }

  private async create(rt: ResourceType, obj: KubeObject): Promise<void> {
    try {
      await this.client.create(rt, obj);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  }

  /** Creates `want`, or patches the fields it sets when they differ (others' fields are left alone). */
  private async sync(rt: ResourceType, current: KubeObject | undefined, want: KubeObject): Promise<void> {
    if (!current) return this.create(rt, want);
    if (current.metadata?.deletionTimestamp) return;
    const { metadata, apiVersion: _a, kind: _k, ...rest } = want as KubeObject & Record<string, unknown>;
    const patch = overlayPatch(current, {
      metadata: { labels: metadata?.labels },
      ...rest,
      status: undefined,
    });
    if (patch !== undefined)
      await this.client.patch(rt, current.metadata!.name!, current.metadata!.namespace, patch);
  }
}

function ignoreNotFound(e: unknown): void {
  if (!isNotFound(e)) throw e;
}

function nullOut(before: object | undefined, after: object): Record<string, null> {
  const out: Record<string, null> = {};
  for (const k of Object.keys(before ?? {})) if (!(k in after)) out[k] = null;
  return out;
}

export function setupTKCController(mgr: Manager, c: TKCCaches): void {
  const tkcsIn = (ns: string | undefined) =>
    c.tkcs.store
      .list()
      .filter((t) => t.metadata.namespace === ns)
      .map((t) => ({ namespace: ns, name: t.metadata.name! }));
  mgr
    .controller("tanzukubernetescluster")
    .for(TanzuKubernetesClusterResource)
    .owns(ClusterResource, { predicate: anyChange })
    .watches(KubeadmControlPlaneResource, clusterOf, { predicate: anyChange })
    .watches(MachineDeploymentResource, clusterOf, { predicate: anyChange })
    .watches(MachineResource, clusterOf, { predicate: anyChange })
    .watches(VirtualMachineResource, clusterOf, { predicate: anyChange })
    .watches(VirtualMachineServiceResource, clusterOf, { predicate: anyChange })
    .watches(VirtualMachineClassResource, (o) => tkcsIn(o.metadata?.namespace))
    .watches(Namespaces, (o) => tkcsIn(o.metadata?.name))
    .watches(TanzuKubernetesReleaseResource, () =>
      c.tkcs.store.list().map((t) => ({ namespace: t.metadata.namespace, name: t.metadata.name! })),
    )
    .withOptions({ maxConcurrentReconciles: 8 })
    .complete(new TKCReconciler(mgr.client, c, mgr.events));

  // One series per cluster: 1 for its current phase (the PrometheusRule's TKC-failed alert).
  const phase: Gauge = new Gauge({
    name: "pacific_tanzukubernetescluster_phase",
    help: "1 for the TanzuKubernetesCluster's current phase",
    labelNames: ["namespace", "name", "phase"],
    registers: [mgr.metrics.registry],
    collect() {
      phase.reset();
      for (const t of c.tkcs.store.list())
        for (const p of PHASES)
          phase.set(
            { namespace: t.metadata.namespace, name: t.metadata.name, phase: p },
            t.status?.phase === p ? 1 : 0,
          );
    },
  });
}
