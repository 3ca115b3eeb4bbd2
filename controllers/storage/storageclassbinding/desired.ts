// What a StorageClassBinding wants: the StorageClass (when missing) and the per-class ResourceQuota
// that VM Operator and the admission policy read. Pure.
import type { V1ResourceQuota, V1StorageClass } from "@kubernetes/client-node";
import { CSI_DRIVER, managedByLabels, STORAGE_CLASS_LABEL, storageQuotaName } from "../../api/contracts.ts";
import {
  type StorageClassBinding,
  StorageClassBindingApiVersion,
} from "../../api/vsphere/storageclassbinding.ts";
import { controllerRef } from "../../runtime/owner.ts";

/** The quota key of one class: `<class>.storageclass.storage.k8s.io/requests.storage` (VM Operator's test). */
export const storageQuotaKey = (storageClass: string) =>
  `${storageClass}.storageclass.storage.k8s.io/requests.storage`;

/** A class encrypts when its storage policy does (parameter `encryption: "true"`, as Pacific creates them). */
export const isEncrypted = (sc: V1StorageClass | undefined) => sc?.parameters?.encryption === "true";

/** The StorageClass Pacific makes when the bound class does not exist: provisioned by the CNS simulator. */
export function desiredStorageClass(b: StorageClassBinding): V1StorageClass {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: b.spec.storageClass, labels: { ...managedByLabels } },
    provisioner: CSI_DRIVER,
    parameters: {
      storagePolicyName: b.spec.storagePolicyName ?? b.spec.storageClass,
      ...(b.spec.encrypted ? { encryption: "true" } : {}),
    },
    reclaimPolicy: "Delete",
    volumeBindingMode: "Immediate",
    allowVolumeExpansion: true,
  };
}

/** `pacific-storage-<class>` in the namespace: the binding's limit, owned by the binding. */
export function desiredQuota(b: StorageClassBinding): V1ResourceQuota {
  const { namespace, storageClass } = b.spec;
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: {
      name: storageQuotaName(storageClass),
      namespace,
      labels: { ...managedByLabels, [STORAGE_CLASS_LABEL]: storageClass },
      ownerReferences: [
        controllerRef({
          apiVersion: StorageClassBindingApiVersion,
          kind: "StorageClassBinding",
          metadata: b.metadata,
        }),
      ],
    },
    spec: { hard: { [storageQuotaKey(storageClass)]: String(b.spec.limit) } },
  };
}
