// The KubeadmControlPlane controller's wiring: its control planes and the Machines it owns.
import { MachineResource } from "../../api/cluster/machine.ts";
import { KubeadmControlPlaneResource } from "../../api/controlplane/kubeadmcontrolplane.ts";
import { anyChange } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { byControllerUid } from "../../runtime/store.ts";
import { MachineOwnerReconciler, OWNER_INDEX } from "../../shared/machineowner.ts";
import { kcpKind } from "./kind.ts";

export function setupKubeadmControlPlaneController(mgr: Manager): void {
  const machines = mgr.informer(MachineResource);
  machines.addIndex(OWNER_INDEX, byControllerUid);
  const kcps = mgr.informer(KubeadmControlPlaneResource);
  mgr
    .controller("kubeadmcontrolplane")
    .for(KubeadmControlPlaneResource)
    .owns(MachineResource, { predicate: anyChange })
    .withOptions({ maxConcurrentReconciles: 8 })
    .complete(new MachineOwnerReconciler(mgr.client, kcpKind, kcps.store, machines.store));
}
