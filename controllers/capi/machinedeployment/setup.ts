// The MachineDeployment controller's wiring: its deployments and the Machines it owns.
import { MachineResource } from "../../api/cluster/machine.ts";
import { MachineDeploymentResource } from "../../api/cluster/machinedeployment.ts";
import { anyChange } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { byControllerUid } from "../../runtime/store.ts";
import { MachineOwnerReconciler, OWNER_INDEX } from "../../shared/machineowner.ts";
import { mdKind } from "./kind.ts";

export function setupMachineDeploymentController(mgr: Manager): void {
  const machines = mgr.informer(MachineResource);
  machines.addIndex(OWNER_INDEX, byControllerUid);
  const mds = mgr.informer(MachineDeploymentResource);
  mgr
    .controller("machinedeployment")
    .for(MachineDeploymentResource)
    .owns(MachineResource, { predicate: anyChange })
    .withOptions({ maxConcurrentReconciles: 8 })
    .complete(new MachineOwnerReconciler(mgr.client, mdKind, mds.store, machines.store));
}
