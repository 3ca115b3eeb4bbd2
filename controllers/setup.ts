// Registers every Pacific controller with the manager. One line per controller.

import { ClusterResource } from "./api/cluster/cluster.ts";
import { MachineResource } from "./api/cluster/machine.ts";
import { MachineDeploymentResource } from "./api/cluster/machinedeployment.ts";
import { KubeadmControlPlaneResource } from "./api/controlplane/kubeadmcontrolplane.ts";
import { TanzuKubernetesClusterResource } from "./api/run/tanzukubernetescluster.ts";
import { VirtualMachineResource } from "./api/vmoperator/virtualmachine.ts";
import { VirtualMachineClassResource } from "./api/vmoperator/virtualmachineclass.ts";
import { VirtualMachineServiceResource } from "./api/vmoperator/virtualmachineservice.ts";
import { VSpherePodResource } from "./api/vsphere/vspherepod.ts";
import { setupClusterController } from "./capi/cluster/setup.ts";
import { setupKubeadmControlPlaneController } from "./capi/kubeadmcontrolplane/setup.ts";
import { setupMachineController } from "./capi/machine/setup.ts";
import { setupMachineDeploymentController } from "./capi/machinedeployment/setup.ts";
import { setupClusterClassController } from "./clusterclass/setup.ts";
import { defaultConfig, type PacificConfig } from "./config.ts";
import { Heartbeat } from "./esxihost/heartbeat.ts";
import { registerHostMetrics } from "./esxihost/metrics.ts";
import { setupESXiHostController } from "./esxihost/setup.ts";
import { localRuntime, podsRuntime, setupGuestClusterController } from "./guestcluster/setup.ts";
import { setupGuestNodeController } from "./guestnode/setup.ts";
import { setupHostFailureController } from "./hostfailure/setup.ts";
import { setupRegistry } from "./registry/setup.ts";
import type { Manager } from "./runtime/manager.ts";
import type { ResourceType } from "./runtime/resource.ts";
import { Inventory } from "./shared/placement/inventory.ts";
import { newVipPool } from "./shared/vips.ts";
import { setupSpherelet } from "./spherelet/setup.ts";
import { setupCns } from "./storage/cns/setup.ts";
import { setupStorageClassBindingController } from "./storage/storageclassbinding/setup.ts";
import { setupSupervisorNamespaceController } from "./supervisornamespace/setup.ts";
import { setupTanzuKubernetesClusterController } from "./tanzu/tanzukubernetescluster/setup.ts";
import { setupTanzuKubernetesReleaseController } from "./tanzu/tanzukubernetesrelease/setup.ts";
import { setupLoadBalancerController } from "./vmservice/loadbalancer/setup.ts";
import { setupVirtualMachineController } from "./vmservice/virtualmachine/setup.ts";
import { setupVirtualMachineServiceController } from "./vmservice/virtualmachineservice/setup.ts";
import { setupVSpherePodController } from "./vspherepod/setup.ts";

export function setupControllers(mgr: Manager, config: PacificConfig = defaultConfig): Inventory {
  const { settings } = config;
  const inv = new Inventory(mgr);
  const heartbeat = new Heartbeat(mgr.client, inv, settings, mgr.log.child({ component: "heartbeat" }));
  mgr.addRunnable(heartbeat);
  registerHostMetrics(mgr.metrics, inv, heartbeat);
  // Before the host controller: it watches what the VM Service reserves on hosts.
  if (config.apis.vmOperator) {
    setupVirtualMachineController(mgr, inv, settings);
    // One VIP pool for both kinds the load balancer serves.
    const vips = newVipPool(mgr, settings.vipPool);
    setupVirtualMachineServiceController(mgr, vips);
    setupLoadBalancerController(mgr, vips);
  }
  setupESXiHostController(mgr, inv, heartbeat, settings);
  setupSpherelet(mgr, inv, settings);
  setupVSpherePodController(mgr, inv);
  setupHostFailureController(mgr, inv);
  setupSupervisorNamespaceController(mgr, config.vmClasses, config.apis.vmOperator, namespacedKinds(config));
  setupStorageClassBindingController(mgr);
  // The ClusterClasses a Supervisor offers (docs/clusterclass.md): wherever the Cluster API kinds are served.
  if (config.apis.clusterAPI) setupClusterClassController(mgr);
  setupRegistry(mgr, config.registry);
  setupCns(mgr, settings.datastoreCapacity);
  // TKCs need the VM Service (their machines are VMs), Cluster API and the TKC APIs.
  if (config.apis.vmOperator && config.apis.clusterAPI && config.apis.tkc) {
    setupClusterController(mgr);
    setupKubeadmControlPlaneController(mgr, settings.guestClustersRuntime);
    setupMachineDeploymentController(mgr);
    setupMachineController(mgr);
    setupTanzuKubernetesClusterController(mgr, settings.guestClustersRuntime);
    setupTanzuKubernetesReleaseController(mgr, config.releases);
    // Guest control planes (docs/guest-clusters.md); `none` keeps the placeholder kubeconfig.
    if (settings.guestClustersRuntime === "local") {
      setupGuestClusterController(mgr, localRuntime);
      // The guests' Nodes are the Cluster's Machines (docs/guest-nodes.md).
      setupGuestNodeController(mgr, inv, settings);
    }
    // A hosted control plane per guest (StatefulSet, Secret, Service): needs a cluster with kubelets,
    // so on our machines it is applied and probed but never answers. No guest Nodes without a guest.
    if (settings.guestClustersRuntime === "pods") setupGuestClusterController(mgr, podsRuntime);
  }
  return inv;
}

/** The Pacific kinds that live in Supervisor Namespaces, of the APIs this cluster serves. */
function namespacedKinds({ apis }: PacificConfig): ResourceType[] {
  return [
    VSpherePodResource,
    ...(apis.tkc ? [TanzuKubernetesClusterResource] : []),
    ...(apis.clusterAPI
      ? [ClusterResource, KubeadmControlPlaneResource, MachineDeploymentResource, MachineResource]
      : []),
    ...(apis.vmOperator
      ? [VirtualMachineResource, VirtualMachineServiceResource, VirtualMachineClassResource]
      : []),
  ];
}
