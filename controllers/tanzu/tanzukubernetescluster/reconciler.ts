// The TanzuKubernetesCluster reconciler: checks what only the cluster's state can judge
// (validate.ts), makes the Cluster API graph (desired.ts) top down, upgrades the control plane before
// the node pools, and reports phase, conditions, endpoints and the node and VM maps (status.ts) in
// one status write. On deletion it removes the Cluster in the foreground (everything below goes with
// it, also what is already gone) before letting go of its finalizer.
import type { V1Namespace } from "@kubernetes/client-node";
import { type Cluster, ClusterResource } from "../../api/cluster/cluster.ts";
import type { Machine } from "../../api/cluster/machine.ts";
import { type MachineDeployment, MachineDeploymentResource } from "../../api/cluster/machinedeployment.ts";
import { CapiLabels } from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../api/run/tanzukubernetescluster.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import type { VirtualMachine } from "../../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineClass } from "../../api/vmoperator/virtualmachineclass.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../api/vmoperator/virtualmachineservice.ts";
import { markFalse, markReadySummary } from "../../runtime/capiconditions.ts";
import { ensureChild } from "../../runtime/children.ts";
import type { Client, KubeObject } from "../../runtime/client.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import { ignoreAlreadyExists, ignoreNotFound } from "../../runtime/errors.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import { ensureFinalizer, removeFinalizer } from "../../runtime/finalizers.ts";
import type { Logger } from "../../runtime/log.ts";
import { hasFinalizer, isControlledBy } from "../../runtime/owner.ts";
import { PatchHelper } from "../../runtime/patchhelper.ts";
import { keyFor, type ResourceType, Secrets } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import {
  desiredCluster,
  desiredControlPlane,
  desiredKubeconfig,
  desiredNodePool,
  desiredService,
  nameOf,
  names,
  releaseOf,
} from "./desired.ts";
import {
  controlPlaneUpgraded,
  markControlPlaneReady,
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

export class TKCReconciler implements Reconciler {
  /**
   * Kubeconfig Secrets made (by TKC uid): the manager may create Secrets but not read them, so it
   * creates each once per process (AlreadyExists after a restart is no failure) — no cache of
   * the cluster's Secrets, no list, watch or get on them (issue 19, finding 16).
   */
  private readonly kubeconfigsMade = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly c: TKCCaches,
    private readonly events: EventSink,
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
    const vmService = this.c.vmServices.get(ns, names.service(nameOf(tkc)));
    const vip = vmService?.status?.loadBalancer?.ingress?.[0]?.ip;
    const cluster = await this.ensureCluster(tkc, release, vip);
    if (cluster === "created") return undefined; // the Cluster's arrival in the cache brings us back
    if (cluster === "foreign")
      return this.fail(h, release, {
        reason: "ClusterConflict",
        message: `a Cluster named ${nameOf(tkc)} exists and does not belong to this TanzuKubernetesCluster`,
      });
    const kcp = await this.ensureControlPlane(tkc, cluster, release);
    const pools = await this.ensureNodePools(tkc, cluster, kcp, release);
    await this.removeStalePools(tkc, cluster);
    await this.ensureEndpoint(tkc, cluster, vmService, vip);

    const machines = this.machinesOf(tkc);
    h.obj.status = tkcStatus(tkc, kcp, release, vip, machines, (m) =>
      this.c.vms.get(m.metadata.namespace, nameOf(m)),
    );
    markReleaseCompatible(h.obj, release);
    markControlPlaneReady(h.obj, kcp);
    markNodePoolsReady(h.obj, pools);
    markNodesHealthy(h.obj, machines);
    markUpdatesAvailable(h.obj, kcp, this.c.releases.list());
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
  ): Promise<undefined> {
    if (warn) this.events.event(h.obj, "Warning", problem.reason, "Validate", problem.message);
    h.obj.status = { ...h.obj.status, phase: "failed" };
    markReleaseCompatible(h.obj, release);
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
    vip: string | undefined,
  ): Promise<Cluster | "created" | "foreign"> {
    const cluster = this.c.clusters.get(tkc.metadata.namespace, names.cluster(nameOf(tkc)));
    const want = desiredCluster(tkc, nameOf(release), vip);
    if (!cluster) {
      await this.client.create(ClusterResource, want).catch(ignoreAlreadyExists);
      return "created";
    }
    if (!isControlledBy(cluster.metadata, tkc.metadata.uid)) return "foreign";
    await this.sync(ClusterResource, cluster, want);
    return cluster;
  }

  private async ensureControlPlane(
    tkc: TanzuKubernetesCluster,
    cluster: Cluster,
    release: TanzuKubernetesRelease,
  ): Promise<KubeadmControlPlane | undefined> {
    const kcp = this.c.kcps.get(tkc.metadata.namespace, names.controlPlane(nameOf(tkc)));
    await this.sync(KubeadmControlPlaneResource, kcp, desiredControlPlane(tkc, cluster, release));
    return kcp;
  }

  /** One MachineDeployment per pool; a pool moves to the release's version once the control plane has. */
  private async ensureNodePools(
    tkc: TanzuKubernetesCluster,
    cluster: Cluster,
    kcp: KubeadmControlPlane | undefined,
    release: TanzuKubernetesRelease,
  ) {
    const target = release.spec.kubernetes.version;
    const cpDone = controlPlaneUpgraded(kcp, target);
    const out = [];
    for (const pool of tkc.spec.topology.nodePools ?? []) {
      const md = this.c.mds.get(tkc.metadata.namespace, names.nodePool(nameOf(tkc), pool.name));
      const version = cpDone ? target : (md?.spec.template.spec?.version ?? kcp?.status?.version ?? target);
      await this.sync(MachineDeploymentResource, md, desiredNodePool(tkc, cluster, pool, release, version));
      out.push({ pool, md });
    }
    return out;
  }

  /** Pools removed from the spec: their MachineDeployments go (and their machines with them). */
  private async removeStalePools(tkc: TanzuKubernetesCluster, cluster: Cluster): Promise<void> {
    const ns = tkc.metadata.namespace;
    const wanted = new Set(
      (tkc.spec.topology.nodePools ?? []).map((p) => names.nodePool(nameOf(tkc), p.name)),
    );
    for (const md of this.c.mds.list()) {
      if (md.metadata.namespace !== ns || md.metadata.labels?.[CapiLabels.clusterName] !== nameOf(tkc))
        continue;
      if (wanted.has(nameOf(md)) || md.metadata.deletionTimestamp) continue;
      if (!isControlledBy(md.metadata, cluster.metadata.uid)) continue;
      await this.client
        .delete(MachineDeploymentResource, nameOf(md), ns, { propagationPolicy: "Foreground" })
        .catch(ignoreNotFound);
    }
  }

  /** The control-plane load balancer, and the kubeconfig once it has its VIP. */
  private async ensureEndpoint(
    tkc: TanzuKubernetesCluster,
    cluster: Cluster,
    vmService: VirtualMachineService | undefined,
    vip: string | undefined,
  ): Promise<void> {
    await this.sync(VirtualMachineServiceResource, vmService, desiredService(tkc, cluster));
    const uid = tkc.metadata.uid ?? "";
    if (!vip || this.kubeconfigsMade.has(uid)) return;
    await this.client.create(Secrets, desiredKubeconfig(tkc, cluster, vip)).catch(ignoreAlreadyExists);
    this.kubeconfigsMade.add(uid);
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
