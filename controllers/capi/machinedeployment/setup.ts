// The MachineDeployment controller's wiring: its deployments and the Machines it owns, through the
// reconciler it shares with the KubeadmControlPlane controller.
import type { Manager } from "../../runtime/manager.ts";
import { setupMachineOwnerController } from "../../shared/machineowner.ts";
import { mdKind } from "./kind.ts";

export function setupMachineDeploymentController(mgr: Manager): void {
  setupMachineOwnerController(mgr, "machinedeployment", mdKind);
}
