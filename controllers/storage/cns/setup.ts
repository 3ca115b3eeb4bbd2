// Wiring of the simulated CNS: two small controllers, the provisioner (claims → volumes) and the
// reclaimer (released volumes → deleted), as the external provisioner of a real CSI driver runs both.
import type { V1PersistentVolume } from "@kubernetes/client-node";
import { anyChange } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { PersistentVolumeClaims, PersistentVolumes, StorageClasses } from "../../runtime/resource.ts";
import { CnsProvisioner } from "./provisioner.ts";
import { CnsReclaimer } from "./reclaimer.ts";

export function setupCns(mgr: Manager, datastoreCapacity: string): void {
  const claims = mgr.informer(PersistentVolumeClaims).store;
  const volumes = mgr.informer(PersistentVolumes).store;
  const classes = mgr.informer(StorageClasses).store;
  mgr
    .controller("cns-provisioner")
    .for(PersistentVolumeClaims, { predicate: anyChange })
    // A volume's change (made, released, gone) wakes its claim.
    .watches(PersistentVolumes, (v) => {
      const ref = (v as V1PersistentVolume).spec?.claimRef;
      return ref?.name ? [{ namespace: ref.namespace, name: ref.name }] : [];
    })
    .complete(new CnsProvisioner(mgr.client, { claims, volumes, classes }, mgr.events, datastoreCapacity));
  mgr
    .controller("cns-reclaimer")
    .for(PersistentVolumes, { predicate: anyChange })
    .complete(new CnsReclaimer(mgr.client, volumes));
}
