// Finalizers, through the patch helper (their patches carry the resourceVersion and are retried on
// conflict). Add one before making anything external to garbage collection; remove it once the
// cleanup is done — also when the children are already gone.
import type { Client, KubeObject } from "./client.ts";
import { hasFinalizer, withFinalizer, withoutFinalizer } from "./owner.ts";
import { PatchHelper } from "./patchhelper.ts";
import type { ResourceType } from "./resource.ts";

/** Adds `finalizer` when missing; returns the object to go on with (the server's copy after a write). */
export async function ensureFinalizer<T extends KubeObject>(
  client: Client,
  resource: ResourceType<T>,
  obj: T,
  finalizer: string,
): Promise<T> {
  if (!obj.metadata || hasFinalizer(obj.metadata, finalizer)) return obj;
  const h = new PatchHelper(client, resource, obj);
  h.obj.metadata = { ...obj.metadata, finalizers: withFinalizer(obj.metadata, finalizer) };
  return (await h.patch()) ?? obj;
}

/** Removes `finalizer` when present. An object already gone is no failure. */
export async function removeFinalizer<T extends KubeObject>(
  client: Client,
  resource: ResourceType<T>,
  obj: T,
  finalizer: string,
): Promise<void> {
  if (!obj.metadata || !hasFinalizer(obj.metadata, finalizer)) return;
  const h = new PatchHelper(client, resource, obj);
  h.obj.metadata = { ...obj.metadata, finalizers: withoutFinalizer(obj.metadata, finalizer) };
  await h.patch();
}
