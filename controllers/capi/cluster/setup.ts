// The Cluster controller's wiring: Clusters, what their topology makes (control planes, pools, the
// control-plane load balancer), and the classes and releases a topology names.
import { type Cluster, ClusterResource } from "../../api/cluster/cluster.ts";
import { ClusterClassResource } from "../../api/cluster/clusterclass.ts";
import { MachineDeploymentResource } from "../../api/cluster/machinedeployment.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import { TanzuKubernetesReleaseResource } from "../../api/run/tanzukubernetesrelease.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../api/vmoperator/virtualmachineservice.ts";
import { changedIn, type Request } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { clusterOf, readyOf } from "../../shared/capi.ts";
import { ROLLUP_DELAY_MS } from "../../shared/rollup.ts";
import { vipOf } from "../../shared/topology/endpoint.ts";
import { topologyOf } from "../../shared/topology/types.ts";
import { type ClusterCaches, ClusterReconciler } from "./reconciler.ts";

export function setupClusterController(mgr: Manager): void {
  const c: ClusterCaches = {
    clusters: mgr.informer(ClusterResource).store,
    classes: mgr.informer(ClusterClassResource).store,
    kcps: mgr.informer(KubeadmControlPlaneResource).store,
    mds: mgr.informer(MachineDeploymentResource).store,
    releases: mgr.informer(TanzuKubernetesReleaseResource).store,
    vmServices: mgr.informer(VirtualMachineServiceResource).store,
  };
  const toRequest = (x: Cluster): Request => ({
    namespace: x.metadata.namespace,
    name: x.metadata.name ?? "",
  });
  /** Topology Clusters naming a class (its namespace is the Cluster's unless classNamespace says). */
  const usersOf = (o: { metadata?: { name?: string; namespace?: string } }) =>
    c.clusters
      .list()
      .filter((x) => {
        const t = topologyOf(x);
        return (
          !!t &&
          t.class === o.metadata?.name &&
          (t.classNamespace || x.metadata.namespace) === o.metadata?.namespace
        );
      })
      .map(toRequest);
  const topologyClusters = () =>
    c.clusters
      .list()
      .filter((x) => topologyOf(x))
      .map(toRequest);
  // Of its parts the Cluster reads only what its status and the topology's rollout sequencing use:
  // their other status moves (a machine count on the way up) would only queue no-op reconciles
  // ahead of Clusters that have work. Its own status writes do not wake it (the default predicate).
  const kcpRead = changedIn((o) => {
    const s = (o as KubeadmControlPlane).status;
    const { ready, initialized, version, replicas, updatedReplicas, readyReplicas } = s ?? {};
    const available = s?.conditions?.find((x) => x.type === "Available");
    return [readyOf(o), available, ready, initialized, version, replicas, updatedReplicas, readyReplicas];
  });
  const delayMs = ROLLUP_DELAY_MS;
  mgr
    .controller("cluster")
    .for(ClusterResource)
    .watches(KubeadmControlPlaneResource, clusterOf, { predicate: kcpRead, delayMs })
    .watches(MachineDeploymentResource, clusterOf, { predicate: changedIn(readyOf), delayMs })
    .watches(VirtualMachineServiceResource, clusterOf, {
      predicate: changedIn((o) => vipOf(o as VirtualMachineService)),
      delayMs,
    })
    .watches(ClusterClassResource, usersOf)
    .watches(TanzuKubernetesReleaseResource, topologyClusters)
    .withOptions({ maxConcurrentReconciles: 16 })
    .complete(new ClusterReconciler(mgr.client, c, mgr.events));
}
