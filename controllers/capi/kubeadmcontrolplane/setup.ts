// The KubeadmControlPlane controller's wiring: its control planes and the Machines it owns, through
// the reconciler it shares with the MachineDeployment controller. The guest runtime decides what
// initialized and ready follow (kind.ts).
import type { Manager } from "../../runtime/manager.ts";
import type { GuestRuntimeKind } from "../../shared/guestruntime.ts";
import { setupMachineOwnerController } from "../../shared/machineowner.ts";
import { kcpKindFor } from "./kind.ts";

export function setupKubeadmControlPlaneController(mgr: Manager, runtime: GuestRuntimeKind = "none"): void {
  setupMachineOwnerController(mgr, "kubeadmcontrolplane", kcpKindFor(runtime));
}
