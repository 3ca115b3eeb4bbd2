// The guest node controller's wiring (runtime `local` only): one key per Cluster, woken by the
// Cluster, its Machines (which carry their node registration: labels, taints) and VMs, and its
// kubeconfig Secret (the guest is up). Each guest it engages runs in the multi-cluster runtime (runtime/cluster.ts),
// stopped with the manager.
import { ClusterResource } from "../api/cluster/cluster.ts";
import { MachineResource } from "../api/cluster/machine.ts";
import { CapiLabels } from "../api/contracts.ts";
import { VirtualMachineResource } from "../api/vmoperator/virtualmachine.ts";
import { VirtualMachineClassResource } from "../api/vmoperator/virtualmachineclass.ts";
import { anyChange } from "../runtime/controller.ts";
import type { Manager } from "../runtime/manager.ts";
import { Secrets } from "../runtime/resource.ts";
import type { SimulationSettings } from "../settings.ts";
import { clusterOf } from "../shared/capi.ts";
import type { Inventory } from "../shared/placement/inventory.ts";
import { GuestNodeReconciler } from "./reconciler.ts";

export function setupGuestNodeController(mgr: Manager, inv: Inventory, settings: SimulationSettings): void {
  const secretsInformer = { labelSelector: CapiLabels.clusterName };
  const reconciler = new GuestNodeReconciler(
    mgr.client,
    {
      clusters: mgr.informer(ClusterResource).store,
      machines: mgr.informer(MachineResource).store,
      vms: mgr.informer(VirtualMachineResource).store,
      vmClasses: mgr.informer(VirtualMachineClassResource).store,
      secrets: mgr.informer(Secrets, secretsInformer).store,
    },
    inv,
    settings,
    mgr.metrics,
    mgr.log.child({ controller: "guestnode" }),
  );
  mgr
    .controller("guestnode")
    .for(ClusterResource, { predicate: anyChange })
    .watches(MachineResource, clusterOf, { predicate: anyChange })
    .watches(VirtualMachineResource, clusterOf, { predicate: anyChange })
    .watches(Secrets, clusterOf, { predicate: anyChange, informer: secretsInformer })
    .withOptions({ maxConcurrentReconciles: 4 })
    .complete(reconciler);
  mgr.addRunnable({ start: () => undefined, stop: () => reconciler.guests.stopAll() });
}
