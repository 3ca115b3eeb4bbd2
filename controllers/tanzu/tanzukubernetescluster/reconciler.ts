// The TanzuKubernetesCluster reconciler: checks what only the cluster's state can judge
// (validate.ts), makes its Cluster with the `tanzukubernetescluster` topology (desired.ts) — the
// topology step of the Cluster controller makes everything below it, control plane first on an
// upgrade — and reports phase, conditions, endpoints and the node and VM maps (status.ts) in one
// status write. On deletion it removes the Cluster in the foreground (everything below goes with
// it, also what is already gone) before letting go of its finalizer.
import type { V1Namespace } from "@kubernetes/client-node";
import { type Cluster, ClusterResource } from "../../api/cluster/cluster.ts";
import type { Machine } from "../../api/cluster/machine.ts";
import type { MachineDeployment } from "../../api/cluster/machinedeployment.ts";
import { CapiLabels } from "../../api/contracts.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../api/run/tanzukubernetescluster.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import type { VirtualMachine } from "../../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineClass } from "../../api/vmoperator/virtualmachineclass.ts";
import type { VirtualMachineService } from "../../api/vmoperator/virtualmachineservice.ts";
import { markFalse, markReadySummary, type V1Beta1Condition } from "../../runtime/capiconditions.ts";
import { ensureChild } from "../../runtime/children.ts";
import type { Client, KubeObject } from "../../runtime/client.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import { ignoreAlreadyExists, ignoreNotFound } from "../../runtime/errors.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import { ensureFinalizer, removeFinalizer } from "../../runtime/finalizers.ts";
import type { Logger } from "../../runtime/log.ts";
import { hasFinalizer, isControlledBy } from "../../runtime/owner.ts";
import { PatchHelper } from "../../runtime/patchhelper.ts";
import { keyFor, type ResourceType } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import type { GuestRuntimeKind } from "../../shared/guestruntime.ts";
import { vipOf } from "../../shared/topology/endpoint.ts";
import { desiredCluster, nameOf, names, releaseOf } from "./desired.ts";
import {
  markControlPlaneReady,
  markGuestControlPlaneReady,
  markNodePoolsReady,
  markNodesHealthy,
  markReleaseCompatible,
  markUpdatesAvailable,
  READY_PARTS,
  tkcStatus,
} from "./status.ts";
import { type Problem, releaseNotFound, validate } from "./validate.ts";

export const FINALIZER = "tanzukubernetescluster.run.tanzu.vmware.com";
/** Machines by "namespace/cluster name". */
export const CLUSTER_INDEX = "tkcCluster";
/** While children are still going away. */
const DELETE_POLL = { requeueAfter: 2_000 };

/** The caches the reconciler reads (informer stores; plain stores in unit tests). */
export interface TKCCaches {
  tkcs: Store<TanzuKubernetesCluster>;
  releases: Store<TanzuKubernetesRelease>;
  clusters: Store<Cluster>;
  kcps: Store<KubeadmControlPlane>;
  mds: Store<MachineDeployment>;
  /** With CLUSTER_INDEX. */
  machines: Store<Machine>;
  vms: Store<VirtualMachine>;
  vmServices: Store<VirtualMachineService>;
  classes: Store<VirtualMachineClass>;
  namespaces: Store<V1Namespace>;
}

export type EventSink = Pick<EventRecorder, "event">;

/**
 * What the topology step could not make of the TKC's Cluster (TopologyReconciled False with
 * severity Error: its class missing from the namespace, for one): the TKC fails with it.
 */
function topologyFailure(cluster: Cluster): Problem | undefined {
  const c = (cluster.status?.conditions as V1Beta1Condition[] | undefined)?.find(
    (x) => x.type === "TopologyReconciled",
  );
  return c?.status === "False" && c.severity === "Error"
    ? {
        reason: c.reason ?? "TopologyReconcileFailed",
        message: `Cluster ${nameOf(cluster)}: ${c.message ?? ""}`,
      }
    : undefined;
}

export class TKCReconciler implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly c: TKCCaches,
    private readonly events: EventSink,
    /** What serves the guests' control planes: GuestControlPlaneReady follows it. */
    private readonly runtime: GuestRuntimeKind = "none",
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const cached = this.c.tkcs.get(req.namespace, req.name);
    if (!cached) return undefined;
    if (cached.metadata.deletionTimestamp) return this.reconcileDelete(cached, log);
    const tkc = await ensureFinalizer(this.client, TanzuKubernetesClusterResource, cached, FINALIZER);
    return this.reconcileNormal(tkc);
  }

  // ---------- deletion ----------

  private async reconcileDelete(tkc: TanzuKubernetesCluster, log: Logger): Promise<Result | undefined> {
    if (!hasFinalizer(tkc.metadata, FINALIZER)) return undefined;
    const h = new PatchHelper(this.client, TanzuKubernetesClusterResource, tkc);
    h.obj.status = { ...h.obj.status, phase: "deleting" };
    markReadySummary(h.obj, READY_PARTS);
    const latest = await h.patch();
    if (!latest) return undefined;
    if (await this.deleteCluster(tkc)) return DELETE_POLL;
    await removeFinalizer(this.client, TanzuKubernetesClusterResource, latest, FINALIZER);
    log.info("deleted");
    return undefined;
  }

  /** True while something of the cluster is still there (deleting the Cluster in the foreground). */
  private async deleteCluster(tkc: TanzuKubernetesCluster): Promise<boolean> {
    const ns = tkc.metadata.namespace ?? "";
    const cluster = this.c.clusters.get(ns, names.cluster(nameOf(tkc)));
    if (cluster && isControlledBy(cluster.metadata, tkc.metadata.uid)) {
      if (!cluster.metadata.deletionTimestamp)
        await this.client
          .delete(ClusterResource, nameOf(cluster), ns, { propagationPolicy: "Foreground" })
          .catch(ignoreNotFound);
      return true;
    }
    // The Cluster is gone; its machines and VMs went before it (foreground), unless some were
    // orphaned by hand: those are the garbage collector's.
    return this.c.vms
      .list()
      .some(
        (v) => v.metadata.namespace === ns && v.metadata.labels?.[CapiLabels.clusterName] === nameOf(tkc),
      );
  }

  // ---------- normal ----------

  private async reconcileNormal(tkc: TanzuKubernetesCluster): Promise<Result | undefined> {
    const h = new PatchHelper(this.client, TanzuKubernetesClusterResource, tkc);
    const release = this.c.releases.get(releaseOf(tkc) ?? "");
    if (!release) return this.fail(h, release, releaseNotFound(tkc), true);
    const problem = this.validate(tkc);
    if (problem) return this.fail(h, release, problem, true);

    const ns = tkc.metadata.namespace ?? "";
    const vip = vipOf(this.c.vmServices.get(ns, names.service(nameOf(tkc))));
    const cluster = await this.ensureCluster(tkc, release);
    if (cluster === "created") return undefined; // the Cluster's arrival in the cache brings us back
    if (cluster === "foreign")
      return this.fail(h, release, {
        reason: "ClusterConflict",
        message: `a Cluster named ${nameOf(tkc)} exists and does not belong to this TanzuKubernetesCluster`,
      });
    const kcp = this.c.kcps.get(ns, names.controlPlane(nameOf(tkc)));
    const topologyProblem = topologyFailure(cluster);
    // The Cluster has the event. What was made before the problem (a guest that answers) still is.
    if (topologyProblem) return this.fail(h, release, topologyProblem, false, kcp);
    // Not made by the topology step yet: its arrival brings us back (no status write meanwhile).
    if (!kcp && !tkc.status?.phase) return undefined;
    const pools = (tkc.spec.topology.nodePools ?? []).map((pool) => ({
      pool,
      md: this.c.mds.get(ns, names.nodePool(nameOf(tkc), pool.name)),
    }));

    const machines = this.machinesOf(tkc);
    h.obj.status = tkcStatus(
      tkc,
      kcp,
      release,
      vip,
      machines,
      (m) => this.c.vms.get(m.metadata.namespace, nameOf(m)),
      this.runtime,
    );
    markReleaseCompatible(h.obj, release);
    markControlPlaneReady(h.obj, kcp);
    markNodePoolsReady(h.obj, pools);
    markNodesHealthy(h.obj, machines);
    markUpdatesAvailable(h.obj, kcp, this.c.releases.list());
    markGuestControlPlaneReady(h.obj, this.runtime, kcp, release);
    markReadySummary(h.obj, READY_PARTS);
    this.warnQuota(h.obj);
    await h.patch();
    return undefined;
  }

  /** A machine held back by the namespace's quota is named in the TKC's events too (`kubectl describe`). */
  private warnQuota(tkc: TanzuKubernetesCluster): void {
    const held = tkc.status?.conditions?.find((c) => c.status === "False" && c.reason === "QuotaExceeded");
    if (held) this.events.event(tkc, "Warning", "QuotaExceeded", "Reconcile", held.message ?? "");
  }

  /** A problem only a person can fix: phase failed, Ready False with its reason (an event if `warn`). */
  private async fail(
    h: PatchHelper<TanzuKubernetesCluster>,
    release: TanzuKubernetesRelease | undefined,
    problem: Problem,
    warn = false,
    /** The control plane, when one was made: the guest's condition keeps following it. */
    kcp?: KubeadmControlPlane,
  ): Promise<undefined> {
    if (warn) this.events.event(h.obj, "Warning", problem.reason, "Validate", problem.message);
    h.obj.status = { ...h.obj.status, phase: "failed" };
    markReleaseCompatible(h.obj, release);
    if (kcp && release) markGuestControlPlaneReady(h.obj, this.runtime, kcp, release);
    markFalse(h.obj, "Ready", problem.reason, "Error", problem.message);
    await h.patch();
    return undefined; // a class, binding or release appearing wakes us
  }

  private validate(tkc: TanzuKubernetesCluster): Problem | undefined {
    const ns = tkc.metadata.namespace ?? "";
    return validate(
      tkc,
      (vmClass) => !!this.c.classes.get(ns, vmClass),
      this.c.namespaces.get(ns)?.metadata?.annotations,
    );
  }

  /** The Cluster: made when missing, synced when it is ours. */
  private async ensureCluster(
    tkc: TanzuKubernetesCluster,
    release: TanzuKubernetesRelease,
  ): Promise<Cluster | "created" | "foreign"> {
    const cluster = this.c.clusters.get(tkc.metadata.namespace, names.cluster(nameOf(tkc)));
    const want = desiredCluster(tkc, release);
    if (!cluster) {
      await this.client.create(ClusterResource, want).catch(ignoreAlreadyExists);
      return "created";
    }
    if (!isControlledBy(cluster.metadata, tkc.metadata.uid)) return "foreign";
    await this.sync(ClusterResource, cluster, want);
    return cluster;
  }

  /** Creates `want`, or patches the fields it sets when they differ (others' fields are left alone). */
  private async sync<T extends KubeObject>(
    rt: ResourceType<T>,
    current: T | undefined,
    want: T,
  ): Promise<void> {
    if (current?.metadata?.deletionTimestamp) return;
    await ensureChild(this.client, rt, want, current).catch(ignoreAlreadyExists);
  }

  private machinesOf(tkc: TanzuKubernetesCluster): Machine[] {
    return this.c.machines.byIndex(CLUSTER_INDEX, keyFor(tkc.metadata.namespace, nameOf(tkc)));
  }
}
