// The Cluster controller's reconciler. For a Cluster with a managed topology it is Cluster API's
// topology controller (the decisions in shared/topology): the KubeadmControlPlane and the
// MachineDeployments the topology asks for are made or synced, pools taken out of it deleted, and
// the endpoint made — the control-plane VirtualMachineService and, once it has its VIP, the
// kubeconfig Secret — with spec.controlPlaneRef and spec.controlPlaneEndpoint set on the Cluster,
// as upstream's topology controller and infrastructure provider do. A class, release or variable
// that is not there is TopologyReconciled=False with the field named, and a Warning event. Then one
// status write. Deletion needs no finalizer (the garbage collector removes what the Cluster owns);
// the status says Deleting meanwhile.
import type { Cluster } from "../../api/cluster/cluster.ts";
import { ClusterResource } from "../../api/cluster/cluster.ts";
import type { ClusterClass } from "../../api/cluster/clusterclass.ts";
import { type MachineDeployment, MachineDeploymentResource } from "../../api/cluster/machinedeployment.ts";
import { CapiLabels, TopologyLabels } from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneApiVersion,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../api/vmoperator/virtualmachineservice.ts";
import type { NewV1Beta1Condition, V1Beta1Condition } from "../../runtime/capiconditions.ts";
import { ensureChild } from "../../runtime/children.ts";
import type { Client, KubeObject } from "../../runtime/client.ts";
import { type Condition, findCondition } from "../../runtime/conditions.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import { ignoreAlreadyExists, ignoreNotFound } from "../../runtime/errors.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import { overlayPatch } from "../../runtime/patch.ts";
import { patchStatus } from "../../runtime/patchhelper.ts";
import { type ResourceType, Secrets } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import { releaseFor } from "../../shared/tkr.ts";
import { planTopology, topologyNames } from "../../shared/topology/desired.ts";
import {
  API_SERVER_PORT,
  desiredKubeconfig,
  desiredService,
  endpointNames,
  vipOf,
} from "../../shared/topology/endpoint.ts";
import { type ClusterTopology, topologyOf } from "../../shared/topology/types.ts";
import { clusterStatus } from "./status.ts";

/** The caches the reconciler reads (informer stores; plain stores in unit tests). */
export interface ClusterCaches {
  clusters: Store<Cluster>;
  classes: Store<ClusterClass>;
  kcps: Store<KubeadmControlPlane>;
  mds: Store<MachineDeployment>;
  releases: Store<TanzuKubernetesRelease>;
  vmServices: Store<VirtualMachineService>;
}

export type EventSink = Pick<EventRecorder, "event">;

const nameOf = (o: { metadata?: { name?: string } }) => o.metadata?.name ?? "";

export class ClusterReconciler implements Reconciler {
  /**
   * Kubeconfig Secrets made (by Cluster uid): the manager may create Secrets but not read them, so
   * it creates each once per process (AlreadyExists after a restart is no failure) — no cache of
   * the cluster's Secrets, no list, watch or get on them (issue 19, finding 16).
   */
  private readonly kubeconfigsMade = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly c: ClusterCaches,
    private readonly events: EventSink,
  ) {}

  async reconcile(req: Request): Promise<Result | undefined> {
    const found = this.c.clusters.get(req.namespace, req.name);
    if (!found) return undefined;
    const topology = topologyOf(found);
    const ns = found.metadata.namespace;
    const mds = this.mdsOf(found);
    if (!topology || found.metadata.deletionTimestamp || found.spec.paused) {
      const kcpName = found.spec.controlPlaneRef?.name;
      const kcp = kcpName ? this.c.kcps.get(ns, kcpName) : undefined;
      await patchStatus(this.client, ClusterResource, found, clusterStatus(found, { kcp, mds }));
      return undefined;
    }
    const kcp = this.c.kcps.get(ns, topologyNames.controlPlane(nameOf(found)));
    const condition = await this.reconcileTopology(found, topology, kcp, mds);
    const cluster =
      condition.status === "False" && condition.severity === "Error"
        ? found
        : await this.ensureEndpoint(found);
    await patchStatus(
      this.client,
      ClusterResource,
      cluster,
      clusterStatus(cluster, { kcp, mds, topology: condition }),
    );
    return undefined;
  }

  /** The Cluster's MachineDeployments made by its topology. */
  private mdsOf(c: Cluster): MachineDeployment[] {
    return this.c.mds
      .list()
      .filter(
        (m) =>
          m.metadata.namespace === c.metadata.namespace &&
          m.metadata.labels?.[CapiLabels.clusterName] === nameOf(c) &&
          m.metadata.labels?.[TopologyLabels.owned] !== undefined,
      );
  }

  /** Makes what the topology wants; returns TopologyReconciled. */
  private async reconcileTopology(
    cluster: Cluster,
    topology: ClusterTopology,
    kcp: KubeadmControlPlane | undefined,
    mds: MachineDeployment[],
  ): Promise<NewV1Beta1Condition> {
    const ns = cluster.metadata.namespace ?? "";
    const plan = planTopology({
      cluster,
      topology,
      clusterClass: this.c.classes.get(topology.classNamespace || ns, topology.class),
      release: releaseFor(topology.version, this.c.releases),
      kcp,
      mds,
    });
    if (!plan.ok) {
      const old = findCondition(
        cluster.status?.conditions as Condition[] | undefined,
        "TopologyReconciled",
      ) as V1Beta1Condition | undefined;
      // One event per new problem (the reconcile repeats on every change of the cluster's parts).
      if (old?.reason !== plan.reason || old.message !== plan.message)
        this.events.event(cluster, "Warning", plan.reason, "Reconcile", plan.message);
      return {
        type: "TopologyReconciled",
        status: "False",
        severity: "Error",
        reason: plan.reason,
        message: plan.message,
      };
    }
    // The control plane and the pools are independent writes: sent together, a new Cluster's
    // machines start one round trip sooner per pool.
    const byName = new Map(mds.map((m) => [nameOf(m), m]));
    await Promise.all([
      this.sync(KubeadmControlPlaneResource, kcp, plan.controlPlane),
      ...plan.machineDeployments.map((want) =>
        this.sync(MachineDeploymentResource, byName.get(nameOf(want)), want),
      ),
      ...plan.stale.map((md) =>
        this.client
          .delete(MachineDeploymentResource, nameOf(md), ns, { propagationPolicy: "Foreground" })
          .catch(ignoreNotFound),
      ),
    ]);
    return plan.condition;
  }

  /**
   * The control-plane load balancer, the kubeconfig once it has its VIP, and the Cluster's
   * controlPlaneRef and controlPlaneEndpoint (one spec patch, only when they change).
   */
  private async ensureEndpoint(cluster: Cluster): Promise<Cluster> {
    const ns = cluster.metadata.namespace;
    const name = nameOf(cluster);
    const vmService = this.c.vmServices.get(ns, endpointNames.service(name));
    await this.sync(VirtualMachineServiceResource, vmService, desiredService(cluster));
    const vip = vipOf(vmService);
    const uid = cluster.metadata.uid ?? "";
    if (vip && !this.kubeconfigsMade.has(uid)) {
      await this.client.create(Secrets, desiredKubeconfig(cluster, vip)).catch(ignoreAlreadyExists);
      this.kubeconfigsMade.add(uid);
    }
    const spec = overlayPatch(cluster.spec, {
      controlPlaneRef: {
        apiVersion: KubeadmControlPlaneApiVersion,
        kind: "KubeadmControlPlane",
        name: topologyNames.controlPlane(name),
        namespace: ns,
      },
      ...(vip ? { controlPlaneEndpoint: { host: vip, port: API_SERVER_PORT } } : {}),
    });
    if (!spec) return cluster;
    const patched = await this.client.patch(ClusterResource, name, ns, { spec }).catch(ignoreNotFound);
    return patched ?? cluster;
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
}
