// Resource descriptors: what the REST client, the informers and the controllers need to know of a kind.
// Custom kinds get theirs generated from crds/ (controllers/api); built-in kinds are listed here.

import type {
  V1ConfigMap,
  V1CustomResourceDefinition,
  V1Lease,
  V1LimitRange,
  V1Namespace,
  V1NetworkPolicy,
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Pod,
  V1ResourceQuota,
  V1RoleBinding,
  V1Secret,
  V1Service,
  V1StatefulSet,
  V1StorageClass,
} from "@kubernetes/client-node";
import type { KubeObject } from "./client.ts";

/**
 * A kind as the REST client, informers and stores know it. `T` is the object type, carried so that
 * `client.get(Pods, ...)` and `mgr.informer(Pods)` are typed by the resource, not by a caller's guess.
 */
export interface ResourceType<T extends KubeObject = KubeObject> {
  /** Never set: it only carries `T` for type inference (a method, so that it is bivariant). */
  __object?(o: T): void;
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export function apiVersionOf(rt: ResourceType): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** /api/v1/namespaces/ns/pods, /apis/g/v/plural, ... (namespace omitted → all namespaces). */
export function collectionPath(rt: ResourceType, namespace?: string): string {
  const base = rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
  const ns = rt.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${base}${ns}/${rt.plural}`;
}

export function objectPath(rt: ResourceType, name: string, namespace?: string, subresource?: string): string {
  if (rt.namespaced && !namespace) throw new Error(`${rt.kind} ${name}: a namespaced kind needs a namespace`);
  return `${collectionPath(rt, namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ""}`;
}

/** The cache and workqueue key of an object: "namespace/name", or "name" for cluster-scoped ones. */
export function keyOf(meta: { namespace?: string; name?: string } | undefined): string {
  if (!meta?.name) throw new Error("object without a name");
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

/** The cache and workqueue key of `name` in `namespace` (cluster-scoped: just the name). */
export function keyFor(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

const core = <T extends KubeObject>(plural: string, kind: string, namespaced = true): ResourceType<T> => ({
  group: "",
  version: "v1",
  plural,
  kind,
  namespaced,
});

export const Pods = core<V1Pod>("pods", "Pod");
export const Nodes = core<V1Node>("nodes", "Node", false);
export const Namespaces = core<V1Namespace>("namespaces", "Namespace", false);
export const ConfigMaps = core<V1ConfigMap>("configmaps", "ConfigMap");
export const Secrets = core<V1Secret>("secrets", "Secret");
export const Services = core<V1Service>("services", "Service");
export const ResourceQuotas = core<V1ResourceQuota>("resourcequotas", "ResourceQuota");
export const LimitRanges = core<V1LimitRange>("limitranges", "LimitRange");
export const PersistentVolumeClaims = core<V1PersistentVolumeClaim>(
  "persistentvolumeclaims",
  "PersistentVolumeClaim",
);
export const PersistentVolumes = core<V1PersistentVolume>("persistentvolumes", "PersistentVolume", false);
export const Leases: ResourceType<V1Lease> = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
  namespaced: true,
};
export const StatefulSets: ResourceType<V1StatefulSet> = {
  group: "apps",
  version: "v1",
  plural: "statefulsets",
  kind: "StatefulSet",
  namespaced: true,
};
export const Events: ResourceType = {
  group: "events.k8s.io",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};
export const CustomResourceDefinitions: ResourceType<V1CustomResourceDefinition> = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};
export const RoleBindings: ResourceType<V1RoleBinding> = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "rolebindings",
  kind: "RoleBinding",
  namespaced: true,
};
export const NetworkPolicies: ResourceType<V1NetworkPolicy> = {
  group: "networking.k8s.io",
  version: "v1",
  plural: "networkpolicies",
  kind: "NetworkPolicy",
  namespaced: true,
};
export const StorageClasses: ResourceType<V1StorageClass> = {
  group: "storage.k8s.io",
  version: "v1",
  plural: "storageclasses",
  kind: "StorageClass",
  namespaced: false,
};
