// What the informer caches drop before they store an object (client-go's TransformFunc): fields no
// reconciler reads, kept per object for as long as the object lives, in every shared cache. At
// 10,000 pods every field costs 10,000 copies. Only fields nothing in controllers/ reads go; a
// write never starts from a cached object whole (patches are diffs of what a controller means), so
// what the cache lacks is never written back as missing.
import type { V1Container, V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeObject } from "./client.ts";

/** kubectl apply's copy of the whole object, in an annotation: often the largest field of all. */
export const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
/** The projected volume the ServiceAccount admission adds to every pod (token, CA bundle, namespace). */
const SERVICE_ACCOUNT_VOLUME = /^kube-api-access-[a-z0-9]+$/;

/**
 * Drops what no controller reads of any object: managedFields (unless kept) and kubectl's
 * last-applied copy. Objects are rebuilt without the fields rather than `delete`d from: V8 turns an
 * object a property was deleted from into a slower, larger dictionary (measured: deleting made a
 * cached pod bigger, not smaller).
 */
export function stripMetadata(o: KubeObject, keepManagedFields = false): void {
  const m = o.metadata;
  if (!m) return;
  const drop =
    (!keepManagedFields && m.managedFields !== undefined) || m.annotations?.[LAST_APPLIED] !== undefined;
  if (!drop) return;
  const { managedFields, annotations, ...rest } = m;
  const kept: typeof m = { ...rest };
  if (keepManagedFields && managedFields) kept.managedFields = managedFields;
  if (annotations) {
    const { [LAST_APPLIED]: _last, ...others } = annotations;
    if (Object.keys(others).length > 0) kept.annotations = others;
  }
  o.metadata = kept;
}

function stripContainer(c: V1Container, dropped: Set<string>): V1Container {
  // Defaults the API server fills in; the Spherelet reports no termination messages.
  const { terminationMessagePath: _p, terminationMessagePolicy: _q, volumeMounts, ...rest } = c;
  const mounts = volumeMounts?.filter((v) => !dropped.has(v.name));
  return mounts && mounts.length > 0 ? { ...rest, volumeMounts: mounts } : rest;
}

/**
 * A pod as the caches keep it: without the ServiceAccount token volume and its mounts (the
 * Spherelet mounts nothing; no controller reads pod volumes), the deprecated `serviceAccount` copy
 * of serviceAccountName, and the containers' termination-message defaults. What placement, the
 * Spherelet and the UI read (nodeName, containers' names, images, resources and ports, tolerations,
 * restartPolicy, the status) stays.
 */
export function stripPod(p: V1Pod): void {
  if (!p.spec) return;
  const { serviceAccount: _sa, volumes, containers, initContainers, ...rest } = p.spec;
  const dropped = new Set<string>();
  for (const v of volumes ?? []) if (v.projected && SERVICE_ACCOUNT_VOLUME.test(v.name)) dropped.add(v.name);
  const spec: V1Pod["spec"] = { ...rest, containers: containers.map((c) => stripContainer(c, dropped)) };
  const keptVolumes = volumes?.filter((v) => !dropped.has(v.name));
  if (keptVolumes && keptVolumes.length > 0) spec.volumes = keptVolumes;
  if (initContainers) spec.initContainers = initContainers.map((c) => stripContainer(c, dropped));
  p.spec = spec;
}

/** A Node without the kubelet's image list (Pacific's own Nodes have none; nothing reads it). */
export function stripNode(n: V1Node): void {
  if (!n.status?.images) return;
  const { images: _i, ...rest } = n.status;
  n.status = rest;
}

/** The transform for a resource's cache: by core kind, metadata for every kind. */
export function cacheTransform(
  group: string,
  kind: string,
  keepManagedFields = false,
): (o: KubeObject) => void {
  const core = group === "";
  if (core && kind === "Pod")
    return (o) => {
      stripMetadata(o, keepManagedFields);
      stripPod(o as V1Pod);
    };
  if (core && kind === "Node")
    return (o) => {
      stripMetadata(o, keepManagedFields);
      stripNode(o as V1Node);
    };
  return (o) => stripMetadata(o, keepManagedFields);
}
