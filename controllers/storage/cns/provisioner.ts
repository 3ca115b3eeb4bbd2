// The CNS provisioner: a PVC of a class whose provisioner is csi.vsphere.vmware.com gets a
// PersistentVolume (CSI driver csi.vsphere.vmware.com, a volume handle) which kube-controller-manager
// then binds. Each storage policy's datastore has a capacity: a claim beyond it stays Pending with a
// ProvisioningFailed event.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from "@kubernetes/client-node";
import type { Client } from "../../runtime/client.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import { ignoreAlreadyExists } from "../../runtime/errors.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { Logger } from "../../runtime/log.ts";
import { PersistentVolumes } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import { datastoreCapacities } from "../../settings.ts";
import { bytes, formatBytes } from "../../shared/quantity.ts";
import { desiredVolume, storagePolicyOf, usedBytes, volumeName, wantsVolume } from "./volume.ts";

export interface ProvisionerCaches {
  claims: Store<V1PersistentVolumeClaim>;
  volumes: Store<V1PersistentVolume>;
  classes: Store<V1StorageClass>;
}

export class CnsProvisioner implements Reconciler {
  private readonly capacities: ReturnType<typeof datastoreCapacities>;

  constructor(
    private readonly client: Client,
    private readonly c: ProvisionerCaches,
    private readonly events: Pick<EventRecorder, "event">,
    datastoreCapacity: string,
  ) {
    this.capacities = datastoreCapacities(datastoreCapacity);
  }

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const pvc = this.c.claims.get(req.namespace, req.name);
    const sc = this.c.classes.get(pvc?.spec?.storageClassName ?? "");
    if (!pvc || !sc || !wantsVolume(pvc, sc)) return undefined;
    const name = volumeName(pvc);
    if (this.c.volumes.get(name)) return undefined; // made; the PV controller binds it
    const policy = storagePolicyOf(sc);
    const capacity = bytes(this.capacities.policies[policy] ?? this.capacities.default);
    const used = usedBytes(this.c.volumes.list(), policy);
    const request = bytes(pvc.spec?.resources?.requests?.storage);
    const regarding = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: pvc.metadata };
    if (used + request > capacity) {
      const msg = `failed to provision volume with StorageClass "${sc.metadata?.name}": the datastore of storage policy ${policy} has ${formatBytes(Math.max(0, capacity - used))} free and the claim asks for ${formatBytes(request)}`;
      this.events.event(regarding, "Warning", "ProvisioningFailed", "Provision", msg);
      return { requeueAfter: 30_000 };
    }
    const made = await this.client
      .create(PersistentVolumes, desiredVolume(pvc, sc, policy, request))
      .catch(ignoreAlreadyExists);
    if (made) {
      log.info({ kind: "PersistentVolume", name, policy }, "provisioned volume");
      const note = `Successfully provisioned volume ${name}`;
      this.events.event(regarding, "Normal", "ProvisioningSucceeded", "Provision", note);
    }
    return undefined;
  }
}
