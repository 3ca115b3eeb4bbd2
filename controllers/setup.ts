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
import { defaultConfig, type PacificConfig } from "./config.ts";
import { setupESXiHostController } from "./esxihost/controller.ts";
import { Heartbeat } from "./esxihost/heartbeat.ts";
import { registerHostMetrics } from "./esxihost/metrics.ts";
import { Inventory } from "./placement/inventory.ts";
import type { Manager } from "./runtime/manager.ts";
import type { ResourceType } from "./runtime/resource.ts";
import { setupSpherelet } from "./spherelet/controller.ts";
import { setupCns } from "./storage/cns.ts";
import { setupStorageClassBindingController } from "./storage/storageclassbinding.ts";
import { setupSupervisorNamespaceController } from "./supervisornamespace/controller.ts";
import { setupTanzu } from "./tkc/setup.ts";
import { setupVMService } from "./vmservice/setup.ts";
import { setupVSpherePodController } from "./vspherepod/controller.ts";
import { setupHostFailureController } from "./workloads/hostfailure.ts";

export function setupControllers(mgr: Manager, config: PacificConfig = defaultConfig): Inventory {
  const { settings } = config;
  const inv = new Inventory(mgr);
  const heartbeat = new Heartbeat(mgr.client, inv, settings, mgr.log.child({ component: "heartbeat" }));
  mgr.addRunnable(heartbeat);
  registerHostMetrics(mgr.metrics, inv, heartbeat);
  // Before the host controller: it watches what the VM Service reserves on hosts.
  if (config.apis.vmOperator) setupVMService(mgr, inv, settings);
  setupESXiHostController(mgr, inv, heartbeat, settings);
  setupSpherelet(mgr, inv, settings);
  setupVSpherePodController(mgr, inv);
  setupHostFailureController(mgr, inv);
  setupSupervisorNamespaceController(mgr, config.vmClasses, config.apis.vmOperator, namespacedKinds(config));
  setupStorageClassBindingController(mgr);
  setupCns(mgr, settings.datastoreCapacity);
  // TKCs need the VM Service (their machines are VMs), Cluster API and the TKC APIs.
  if (config.apis.vmOperator && config.apis.clusterAPI && config.apis.tkc) setupTanzu(mgr, config.releases);
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
