// The TanzuKubernetesCluster controller's wiring: what it reads (the Cluster API graph, VMs, the
// control-plane load balancer, kubeconfig Secrets, VM classes, namespaces, releases) and how their
// events map to clusters.
import { type Cluster, ClusterResource } from "../../api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../../api/cluster/machine.ts";
import { MachineDeploymentResource } from "../../api/cluster/machinedeployment.ts";
import { CapiLabels, GuestAnnotations } from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import { TanzuKubernetesClusterResource } from "../../api/run/tanzukubernetescluster.ts";
import { TanzuKubernetesReleaseResource } from "../../api/run/tanzukubernetesrelease.ts";
import { type VirtualMachine, VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import { VirtualMachineClassResource } from "../../api/vmoperator/virtualmachineclass.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../api/vmoperator/virtualmachineservice.ts";
import { changedIn, type Request } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { keyFor, Namespaces } from "../../runtime/resource.ts";
import { clusterOf, readyOf } from "../../shared/capi.ts";
import type { GuestRuntimeKind } from "../../shared/guestruntime.ts";
import { ROLLUP_DELAY_MS } from "../../shared/rollup.ts";
import { vipOf } from "../../shared/topology/endpoint.ts";
import { nameOf } from "./desired.ts";
import { registerPhaseGauge } from "./metrics.ts";
import { CLUSTER_INDEX, type TKCCaches, TKCReconciler } from "./reconciler.ts";
import { vmStateOf } from "./status.ts";

// What the TKC's status reads of each part; other status moves of the parts do not wake it (its
// queue then holds the work that changes a status). Of its Cluster: only TopologyReconciled — the
// rest is the topology step's.
const clusterRead = changedIn((o) =>
  (o as Cluster).status?.conditions?.find((c) => c.type === "TopologyReconciled"),
);
const kcpRead = changedIn((o) => [
  readyOf(o),
  (o as KubeadmControlPlane).status?.version,
  (o as KubeadmControlPlane).status?.initialized,
  (o as KubeadmControlPlane).status?.conditions?.find((c) => c.type === "Available"),
  o.metadata?.annotations?.[GuestAnnotations.apiServerReady],
  o.metadata?.annotations?.[GuestAnnotations.apiServerVersion],
]);
const machineRead = changedIn((o) => (o as Machine).status?.phase);
const vmRead = changedIn((o) => vmStateOf(o as VirtualMachine));
const vipRead = changedIn((o) => vipOf(o as VirtualMachineService));

export function setupTanzuKubernetesClusterController(
  mgr: Manager,
  runtime: GuestRuntimeKind = "none",
): void {
  const machines = mgr.informer(MachineResource);
  machines.addIndex(CLUSTER_INDEX, (m) => {
    const cluster = m.metadata.labels?.[CapiLabels.clusterName];
    return cluster ? [keyFor(m.metadata.namespace, cluster)] : [];
  });
  const c: TKCCaches = {
    tkcs: mgr.informer(TanzuKubernetesClusterResource).store,
    releases: mgr.informer(TanzuKubernetesReleaseResource).store,
    clusters: mgr.informer(ClusterResource).store,
    kcps: mgr.informer(KubeadmControlPlaneResource).store,
    mds: mgr.informer(MachineDeploymentResource).store,
    machines: machines.store,
    vms: mgr.informer(VirtualMachineResource).store,
    vmServices: mgr.informer(VirtualMachineServiceResource).store,
    classes: mgr.informer(VirtualMachineClassResource).store,
    namespaces: mgr.informer(Namespaces).store,
  };
  const toRequest = (t: { metadata: { namespace?: string; name?: string } }): Request => ({
    namespace: t.metadata.namespace,
    name: nameOf(t),
  });
  const tkcsIn = (ns: string | undefined) =>
    c.tkcs
      .list()
      .filter((t) => t.metadata.namespace === ns)
      .map(toRequest);
  const delayMs = ROLLUP_DELAY_MS;
  mgr
    .controller("tanzukubernetescluster")
    .for(TanzuKubernetesClusterResource)
    .owns(ClusterResource, { predicate: clusterRead, delayMs })
    .watches(KubeadmControlPlaneResource, clusterOf, { predicate: kcpRead, delayMs })
    .watches(MachineDeploymentResource, clusterOf, { predicate: changedIn(readyOf), delayMs })
    .watches(MachineResource, clusterOf, { predicate: machineRead, delayMs })
    .watches(VirtualMachineResource, clusterOf, { predicate: vmRead, delayMs })
    .watches(VirtualMachineServiceResource, clusterOf, { predicate: vipRead, delayMs })
    .watches(VirtualMachineClassResource, (o) => tkcsIn(o.metadata?.namespace))
    .watches(Namespaces, (o) => tkcsIn(o.metadata?.name))
    .watches(TanzuKubernetesReleaseResource, () => c.tkcs.list().map(toRequest))
    .withOptions({ maxConcurrentReconciles: 16 })
    .complete(new TKCReconciler(mgr.client, c, mgr.events, runtime));
  registerPhaseGauge(mgr.metrics, c.tkcs);
}
