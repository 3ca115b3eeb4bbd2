// The Tanzu Kubernetes Grid service's wiring: the Cluster API controllers (Cluster, control plane,
// machine deployments, machines) and the TKC and TKR controllers on shared informers.
import { ClusterResource } from "../api/cluster/cluster.ts";
import { MachineResource } from "../api/cluster/machine.ts";
import { MachineDeploymentResource } from "../api/cluster/machinedeployment.ts";
import { KubeadmControlPlaneResource } from "../api/controlplane/kubeadmcontrolplane.ts";
import { TanzuKubernetesClusterResource } from "../api/run/tanzukubernetescluster.ts";
import { TanzuKubernetesReleaseResource } from "../api/run/tanzukubernetesrelease.ts";
import { VirtualMachineResource } from "../api/vmoperator/virtualmachine.ts";
import { VirtualMachineClassResource } from "../api/vmoperator/virtualmachineclass.ts";
import { VirtualMachineServiceResource } from "../api/vmoperator/virtualmachineservice.ts";
import { setupClusterController } from "../capi/cluster.ts";
import { Labels } from "../capi/labels.ts";
import { setupMachineController } from "../capi/machine.ts";
import { OWNER_INDEX, setupMachineOwners } from "../capi/machineowner.ts";
import type { Manager } from "../runtime/manager.ts";
import { Namespaces } from "../runtime/resource.ts";
import { byControllerUid } from "../runtime/store.ts";
import { CLUSTER_INDEX, setupTKCController, type TKCCaches } from "./controller.ts";
import { setupReleaseController } from "./releases.ts";

export function setupTanzu(mgr: Manager, releases: string[]): void {
  const c: TKCCaches = {
    tkcs: mgr.informer(TanzuKubernetesClusterResource),
    releases: mgr.informer(TanzuKubernetesReleaseResource),
    clusters: mgr.informer(ClusterResource),
    kcps: mgr.informer(KubeadmControlPlaneResource),
    mds: mgr.informer(MachineDeploymentResource),
    machines: mgr.informer(MachineResource),
    vms: mgr.informer(VirtualMachineResource),
    vmServices: mgr.informer(VirtualMachineServiceResource),
    classes: mgr.informer(VirtualMachineClassResource),
    namespaces: mgr.informer(Namespaces),
  };
  c.machines.addIndex(OWNER_INDEX, byControllerUid);
  c.machines.addIndex(CLUSTER_INDEX, (m) => {
    const cluster = m.metadata.labels?.[Labels.clusterName];
    return cluster ? [`${m.metadata.namespace}/${cluster}`] : [];
  });
  setupClusterController(mgr, c.clusters, c.kcps);
  setupMachineOwners(mgr, c.machines, c.kcps, c.mds);
  setupMachineController(mgr, c.machines, c.vms);
  setupTKCController(mgr, c);
  setupReleaseController(mgr, c.releases, releases);
}
