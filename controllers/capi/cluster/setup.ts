// The Cluster controller's wiring: Clusters, and the control planes that report into them.
import { ClusterResource } from "../../api/cluster/cluster.ts";
import { KubeadmControlPlaneResource } from "../../api/controlplane/kubeadmcontrolplane.ts";
import { anyChange } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { clusterOf } from "../../shared/capi.ts";
import { ROLLUP_DELAY_MS } from "../../shared/rollup.ts";
import { ClusterReconciler } from "./reconciler.ts";

export function setupClusterController(mgr: Manager): void {
  const clusters = mgr.informer(ClusterResource);
  const kcps = mgr.informer(KubeadmControlPlaneResource);
  mgr
    .controller("cluster")
    .for(ClusterResource, { predicate: anyChange })
    .watches(KubeadmControlPlaneResource, clusterOf, { predicate: anyChange, delayMs: ROLLUP_DELAY_MS })
    .complete(new ClusterReconciler(mgr.client, clusters.store, kcps.store));
}
