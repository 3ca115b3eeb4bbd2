// The simulated CNS (vSphere Cloud Native Storage) provisioner: a PVC of a class whose provisioner
// is csi.vsphere.vmware.com gets a PersistentVolume (CSI driver csi.vsphere.vmware.com, a volume
// handle) which kube-controller-manager then binds; a Released volume with reclaim Delete is
// deleted. Each storage policy's datastore has a capacity: a claim beyond it stays Pending with a
// ProvisioningFailed event.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from "@kubernetes/client-node";
import type { KubeClient } from "../runtime/client.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isAlreadyExists, isNotFound } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { PersistentVolumeClaims, PersistentVolumes, StorageClasses } from "../runtime/resource.ts";
import { datastoreCapacities } from "../settings.ts";
import { uuidFrom } from "../shared/ids.ts";
import { bytes, formatBytes } from "../shared/quantity.ts";
import { CSI_DRIVER } from "./storageclassbinding.ts";

export const POLICY_ANNOTATION = "vsphere.pacific.dev/storage-policy";

export function storagePolicyOf(sc: V1StorageClass): string {
  const p = sc.parameters ?? {};
  return p.storagePolicyName ?? p.storagepolicyname ?? p.storagePolicyID ?? sc.metadata!.name!;
}

export class CnsProvisioner implements Reconciler {
  private readonly capacities: ReturnType<typeof datastoreCapacities>;

  constructor(
    private readonly client: KubeClient,
    private readonly claims: Informer<V1PersistentVolumeClaim>,
    private readonly volumes: Informer<V1PersistentVolume>,
    private readonly classes: Informer<V1StorageClass>,
    private readonly events: EventRecorder,
    datastoreCapacity: string,
  ) {
    this.capacities = datastoreCapacities(datastoreCapacity);
  }

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const pvc = this.claims.store.get(req.namespace, req.name);
    if (!pvc || pvc.metadata?.deletionTimestamp || pvc.spec?.volumeName) return undefined;
    const sc = this.classes.store.get(pvc.spec?.storageClassName ?? "");
    if (!sc || sc.provisioner !== CSI_DRIVER) return undefined;
    if (
      sc.volumeBindingMode === "WaitForFirstConsumer" &&
      !pvc.metadata?.annotations?.["volume.kubernetes.io/selected-node"]
    )
      return undefined;

    const name = `pvc-${pvc.metadata!.uid}`;
    if (this.volumes.store.get(name)) return undefined; // made; the PV controller binds it
    const policy = storagePolicyOf(sc);
    const capacity = bytes(this.capacities.policies[policy] ?? this.capacities.default);
    const used = this.volumes.store
      .list()
      .filter(
        (v) => v.metadata?.annotations?.[POLICY_ANNOTATION] === policy && v.status?.phase !== "Released",
      )
      .reduce((acc, v) => acc + bytes(v.spec?.capacity?.storage), 0);
    const request = bytes(pvc.spec?.resources?.requests?.storage);
    const pvcObj = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: pvc.metadata };
    if (used + request > capacity) {
      const msg = `failed to provision volume with StorageClass "${sc.metadata!.name}": the datastore of storage policy ${policy} has ${formatBytes(Math.max(0, capacity - used))} free and the claim asks for ${formatBytes(request)}`;
      this.events.event(pvcObj, "Warning", "ProvisioningFailed", "Provision", msg);
      return { requeueAfter: 30_000 };
    }
    try {
      await this.client.create<V1PersistentVolume>(PersistentVolumes, {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: {
          name,
          annotations: { "pv.kubernetes.io/provisioned-by": CSI_DRIVER, [POLICY_ANNOTATION]: policy },
        },
        spec: {
          capacity: { storage: formatBytes(request) },
          accessModes: pvc.spec?.accessModes ?? ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
          storageClassName: sc.metadata!.name,
          volumeMode: pvc.spec?.volumeMode ?? "Filesystem",
          claimRef: {
            apiVersion: "v1",
            kind: "PersistentVolumeClaim",
            namespace: req.namespace,
            name: req.name,
            uid: pvc.metadata!.uid,
          },
          csi: {
            driver: CSI_DRIVER,
            volumeHandle: uuidFrom(pvc.metadata!.uid!),
            fsType: sc.parameters?.["csi.storage.k8s.io/fstype"] ?? "ext4",
            volumeAttributes: {
              storagePolicyName: policy,
              "storage.kubernetes.io/csiProvisionerIdentity": "pacific-cns",
            },
          },
        },
      });
      log.info({ kind: "PersistentVolume", name, policy }, "provisioned volume");
      this.events.event(
        pvcObj,
        "Normal",
        "ProvisioningSucceeded",
        "Provision",
        `Successfully provisioned volume ${name}`,
      );
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    return undefined;
  }
}

/** Deletes our Released volumes whose reclaim policy is Delete (the external provisioner's job). */
export class CnsReclaimer implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly volumes: Informer<V1PersistentVolume>,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const pv = this.volumes.store.get(req.name);
    if (!pv || pv.metadata?.deletionTimestamp) return undefined;
    if (
      pv.spec?.csi?.driver !== CSI_DRIVER ||
      pv.spec.persistentVolumeReclaimPolicy !== "Delete" ||
      pv.status?.phase !== "Released"
    )
      return undefined;
    try {
      await this.client.delete(PersistentVolumes, req.name, undefined, { uid: pv.metadata!.uid });
      log.info({ kind: "PersistentVolume", name: req.name }, "deleted released volume");
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    return undefined;
  }
}

export function setupCns(mgr: Manager, datastoreCapacity: string): void {
  const claims = mgr.informer<V1PersistentVolumeClaim>(PersistentVolumeClaims);
  const volumes = mgr.informer<V1PersistentVolume>(PersistentVolumes);
  const classes = mgr.informer<V1StorageClass>(StorageClasses);
  mgr
    .controller("cns-provisioner")
    .for(PersistentVolumeClaims, { predicate: anyChange })
    .watches(PersistentVolumes, (v) => {
      const ref = (v as V1PersistentVolume).spec?.claimRef;
      return ref?.name ? [{ namespace: ref.namespace, name: ref.name }] : [];
    })
    .complete(new CnsProvisioner(mgr.client, claims, volumes, classes, mgr.events, datastoreCapacity));
  mgr
    .controller("cns-reclaimer")
    .for(PersistentVolumes, { predicate: anyChange })
    .complete(new CnsReclaimer(mgr.client, volumes));
}
