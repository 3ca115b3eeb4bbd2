// Storage rules shared by the VM Service and the TKC controller.
import { STORAGE_CLASSES_ANNOTATION } from "../api/contracts.ts";

/** Whether a storage class may be used in the namespace (bound by a StorageClassBinding). */
export function storageAllowed(
  storageClass: string | undefined,
  nsAnnotations: Record<string, string> | undefined,
) {
  if (!storageClass) return true;
  const bound = (nsAnnotations?.[STORAGE_CLASSES_ANNOTATION] ?? "").split(",").filter(Boolean);
  return bound.includes(storageClass);
}

/** The storage classes bound in a namespace, from its annotation (only Pacific writes it). */
export function boundStorageClasses(nsAnnotations: Record<string, string> | undefined): string[] {
  return (nsAnnotations?.[STORAGE_CLASSES_ANNOTATION] ?? "").split(",").filter(Boolean);
}
