// Ownership: controller ownerReferences and finalizers, as small pure helpers.
import type { V1ObjectMeta, V1OwnerReference } from "@kubernetes/client-node";

export interface OwnerLike {
  apiVersion?: string;
  kind?: string;
  metadata?: V1ObjectMeta;
}

/** The controller ownerReference that makes `owner` the managing controller of a child. */
export function controllerRef(owner: OwnerLike, blockOwnerDeletion = true): V1OwnerReference {
  const { apiVersion, kind, metadata } = owner;
  if (!apiVersion || !kind || !metadata?.name || !metadata.uid) {
    throw new Error(`controllerRef needs apiVersion, kind, name and uid (got ${kind}/${metadata?.name})`);
  }
  return { apiVersion, kind, name: metadata.name, uid: metadata.uid, controller: true, blockOwnerDeletion };
}

/** The ownerReference marked controller: true, if any. */
export function controllerOf(meta: V1ObjectMeta | undefined): V1OwnerReference | undefined {
  return meta?.ownerReferences?.find((o) => o.controller);
}

/** True when `child` is controlled by the object with `uid`. */
export function isControlledBy(child: V1ObjectMeta | undefined, uid: string | undefined): boolean {
  return !!uid && controllerOf(child)?.uid === uid;
}

export function hasFinalizer(meta: V1ObjectMeta | undefined, finalizer: string): boolean {
  return meta?.finalizers?.includes(finalizer) ?? false;
}

/** Returns the finalizer list with `finalizer` added (unchanged list when already present). */
export function withFinalizer(meta: V1ObjectMeta, finalizer: string): string[] {
  const list = meta.finalizers ?? [];
  return list.includes(finalizer) ? list : [...list, finalizer];
}

/** Returns the finalizer list without `finalizer`. */
export function withoutFinalizer(meta: V1ObjectMeta, finalizer: string): string[] {
  return (meta.finalizers ?? []).filter((f) => f !== finalizer);
}

export function isDeleting(meta: V1ObjectMeta | undefined): boolean {
  return !!meta?.deletionTimestamp;
}
