// The TanzuKubernetesCluster controller's wiring: what it reads (the Cluster API graph, VMs, the
// control-plane load balancer, kubeconfig Secrets, VM classes, namespaces, releases) and how their
// events map to clusters.
import { type Cluster, ClusterResource } from "../../api/cluster/cluster.ts";
import { MachineResource } from "../../api/cluster/machine.ts";
import { MachineDeploymentResource } from "../../api/cluster/machinedeployment.ts";
import { CapiLabels } from "../../api/contracts.ts";
import { KubeadmControlPlaneResource } from "../../api/controlplane/kubeadmcontrolplane.ts";
import { TanzuKubernetesClusterResource } from "../../api/run/tanzukubernetescluster.ts";
import { TanzuKubernetesReleaseResource } from "../../api/run/tanzukubernetesrelease.ts";
import { VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import { VirtualMachineClassResource } from "../../api/vmoperator/virtualmachineclass.ts";
import { VirtualMachineServiceResource } from "../../api/vmoperator/virtualmachineservice.ts";
import { anyChange, type Predicate, type Request, specOrMetadataChanged } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { keyFor, Namespaces } from "../../runtime/resource.ts";
import { clusterOf } from "../../shared/capi.ts";
import { ROLLUP_DELAY_MS } from "../../shared/rollup.ts";
import { nameOf } from "./desired.ts";
import { registerPhaseGauge } from "./metrics.ts";
import { CLUSTER_INDEX, type TKCCaches, TKCReconciler } from "./reconciler.ts";

/** Of its Cluster the TKC reads only TopologyReconciled (and the object itself): other status moves are the topology step's. */
const topologyReconciled = (o: { status?: { conditions?: unknown } }) =>
  JSON.stringify(
    (o.status?.conditions as Array<{ type: string }> | undefined)?.find(
      (c) => c.type === "TopologyReconciled",
    ),
  );
const clusterChanged: Predicate = (o, n) =>
  specOrMetadataChanged(o, n) || topologyReconciled(o as Cluster) !== topologyReconciled(n as Cluster);

export function setupTanzuKubernetesClusterController(mgr: Manager): void {
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
  const rollup = { predicate: anyChange, delayMs: ROLLUP_DELAY_MS };
  mgr
    .controller("tanzukubernetescluster")
    .for(TanzuKubernetesClusterResource)
    .owns(ClusterResource, { predicate: clusterChanged, delayMs: ROLLUP_DELAY_MS })
    .watches(KubeadmControlPlaneResource, clusterOf, rollup)
    .watches(MachineDeploymentResource, clusterOf, rollup)
    .watches(MachineResource, clusterOf, rollup)
    .watches(VirtualMachineResource, clusterOf, rollup)
    .watches(VirtualMachineServiceResource, clusterOf, rollup)
    .watches(VirtualMachineClassResource, (o) => tkcsIn(o.metadata?.namespace))
    .watches(Namespaces, (o) => tkcsIn(o.metadata?.name))
    .watches(TanzuKubernetesReleaseResource, () => c.tkcs.list().map(toRequest))
    .withOptions({ maxConcurrentReconciles: 8 })
    .complete(new TKCReconciler(mgr.client, c, mgr.events));
  registerPhaseGauge(mgr.metrics, c.tkcs);
}
