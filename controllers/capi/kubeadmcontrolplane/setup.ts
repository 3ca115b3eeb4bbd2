// The KubeadmControlPlane controller's wiring: its control planes and the Machines it owns, through
// the reconciler it shares with the MachineDeployment controller.
import type { Manager } from "../../runtime/manager.ts";
import { setupMachineOwnerController } from "../../shared/machineowner.ts";
import { kcpKind } from "./kind.ts";

export function setupKubeadmControlPlaneController(mgr: Manager): void {
  setupMachineOwnerController(mgr, "kubeadmcontrolplane", kcpKind);
}
