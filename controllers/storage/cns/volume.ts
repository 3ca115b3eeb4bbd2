// The simulated CNS (vSphere Cloud Native Storage) volumes: which claims get one, what it looks like,
// how much room a storage policy's datastore has left, and which volumes are reclaimed. Pure.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from "@kubernetes/client-node";
import { CSI_DRIVER, STORAGE_POLICY_ANNOTATION } from "../../api/contracts.ts";
import { uuidFrom } from "../../shared/ids.ts";
import { bytes, formatBytes } from "../../shared/quantity.ts";

/** The storage policy of a class (vSphere CSI's parameter names), else the class's own name. */
export function storagePolicyOf(sc: V1StorageClass): string {
  const p = sc.parameters ?? {};
  return p.storagePolicyName ?? p.storagepolicyname ?? p.storagePolicyID ?? sc.metadata?.name ?? "";
}

/** `pvc-<claim uid>`, as the external provisioner names volumes: a restart finds what it made. */
export const volumeName = (pvc: V1PersistentVolumeClaim) => `pvc-${pvc.metadata?.uid}`;

/** A claim of a CNS class, not bound, not being deleted (and, for WaitForFirstConsumer, scheduled). */
export function wantsVolume(pvc: V1PersistentVolumeClaim, sc: V1StorageClass | undefined): boolean {
  if (pvc.metadata?.deletionTimestamp || pvc.spec?.volumeName) return false;
  if (sc?.provisioner !== CSI_DRIVER) return false;
  return (
    sc.volumeBindingMode !== "WaitForFirstConsumer" ||
    !!pvc.metadata?.annotations?.["volume.kubernetes.io/selected-node"]
  );
}

/** Bytes the volumes of `policy` take on its datastore (a Released volume is about to go). */
export function usedBytes(volumes: V1PersistentVolume[], policy: string): number {
  return volumes
    .filter(
      (v) =>
        v.metadata?.annotations?.[STORAGE_POLICY_ANNOTATION] === policy && v.status?.phase !== "Released",
    )
    .reduce((acc, v) => acc + bytes(v.spec?.capacity?.storage), 0);
}

/** The PersistentVolume of a claim, pre-bound to it (kube-controller-manager completes the binding). */
export function desiredVolume(
  pvc: V1PersistentVolumeClaim,
  sc: V1StorageClass,
  policy: string,
  request: number,
): V1PersistentVolume {
  const uid = pvc.metadata?.uid ?? "";
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name: volumeName(pvc),
      annotations: { "pv.kubernetes.io/provisioned-by": CSI_DRIVER, [STORAGE_POLICY_ANNOTATION]: policy },
    },
    spec: {
      capacity: { storage: formatBytes(request) },
      accessModes: pvc.spec?.accessModes ?? ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
      storageClassName: sc.metadata?.name,
      volumeMode: pvc.spec?.volumeMode ?? "Filesystem",
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: pvc.metadata?.namespace,
        name: pvc.metadata?.name,
        uid,
      },
      csi: {
        driver: CSI_DRIVER,
        volumeHandle: uuidFrom(uid),
        fsType: sc.parameters?.["csi.storage.k8s.io/fstype"] ?? "ext4",
        volumeAttributes: {
          storagePolicyName: policy,
          "storage.kubernetes.io/csiProvisionerIdentity": "pacific-cns",
        },
      },
    },
  };
}

/** A CNS volume whose claim is gone and whose reclaim policy is Delete (the external provisioner's job). */
export function isReclaimable(pv: V1PersistentVolume): boolean {
  return (
    !pv.metadata?.deletionTimestamp &&
    pv.spec?.csi?.driver === CSI_DRIVER &&
    pv.spec.persistentVolumeReclaimPolicy === "Delete" &&
    pv.status?.phase === "Released"
  );
}
