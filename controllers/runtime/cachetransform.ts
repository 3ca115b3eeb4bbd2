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

/** Drops what no controller reads of any object: managedFields (unless kept) and kubectl's last-applied copy. */
export function stripMetadata(o: KubeObject, keepManagedFields = false): void {
  const m = o.metadata;
  if (!m) return;
  if (!keepManagedFields && m.managedFields) delete m.managedFields;
  if (m.annotations?.[LAST_APPLIED] !== undefined) {
    delete m.annotations[LAST_APPLIED];
    if (Object.keys(m.annotations).length === 0) delete m.annotations;
  }
}

function stripContainer(c: V1Container, dropped: Set<string>): void {
  if (c.volumeMounts) {
    c.volumeMounts = c.volumeMounts.filter((v) => !dropped.has(v.name));
    if (c.volumeMounts.length === 0) delete c.volumeMounts;
  }
  // Defaults the API server fills in; the Spherelet reports no termination messages.
  delete c.terminationMessagePath;
  delete c.terminationMessagePolicy;
}

/**
 * A pod as the caches keep it: without the ServiceAccount token volume and its mounts (the
 * Spherelet mounts nothing; no controller reads pod volumes), the deprecated `serviceAccount` copy
 * of serviceAccountName, and the containers' termination-message defaults. What placement, the
 * Spherelet and the UI read (nodeName, containers' names, images, resources and ports, tolerations,
 * restartPolicy, the status) stays.
 */
export function stripPod(p: V1Pod): void {
  const s = p.spec;
  if (!s) return;
  const dropped = new Set<string>();
  if (s.volumes) {
    for (const v of s.volumes) if (v.projected && SERVICE_ACCOUNT_VOLUME.test(v.name)) dropped.add(v.name);
    s.volumes = s.volumes.filter((v) => !dropped.has(v.name));
    if (s.volumes.length === 0) delete s.volumes;
  }
  for (const c of s.containers ?? []) stripContainer(c, dropped);
  for (const c of s.initContainers ?? []) stripContainer(c, dropped);
  delete s.serviceAccount;
}

/** A Node without the kubelet's image list (Pacific's own Nodes have none; nothing reads it). */
export function stripNode(n: V1Node): void {
  if (n.status?.images) delete n.status.images;
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
