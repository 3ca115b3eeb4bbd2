// The Machine controller's wiring: Machines and the VirtualMachines they own.
import { MachineResource } from "../../api/cluster/machine.ts";
import { VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import { anyChange } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { MachineReconciler } from "./reconciler.ts";

export function setupMachineController(mgr: Manager): void {
  const machines = mgr.informer(MachineResource);
  const vms = mgr.informer(VirtualMachineResource);
  mgr
    .controller("machine")
    .for(MachineResource)
    .owns(VirtualMachineResource, { predicate: anyChange })
    .withOptions({ maxConcurrentReconciles: 16 })
    .complete(new MachineReconciler(mgr.client, machines.store, vms.store, mgr.events));
}
