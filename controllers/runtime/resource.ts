// Resource descriptors: what the REST client, the informers and the controllers need to know of a kind.
// Custom kinds get theirs generated from crds/ (controllers/api); built-in kinds are listed here.

export interface ResourceType {
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

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

const core = (plural: string, kind: string, namespaced = true): ResourceType => ({
  group: "",
  version: "v1",
  plural,
  kind,
  namespaced,
});

export const Pods = core("pods", "Pod");
export const Nodes = core("nodes", "Node", false);
export const Namespaces = core("namespaces", "Namespace", false);
export const ConfigMaps = core("configmaps", "ConfigMap");
export const Secrets = core("secrets", "Secret");
export const Services = core("services", "Service");
export const ResourceQuotas = core("resourcequotas", "ResourceQuota");
export const LimitRanges = core("limitranges", "LimitRange");
export const PersistentVolumeClaims = core("persistentvolumeclaims", "PersistentVolumeClaim");
export const PersistentVolumes = core("persistentvolumes", "PersistentVolume", false);
export const Leases: ResourceType = {
  group: "coordination.k8s.io",
  version: "v1",
  plural: "leases",
  kind: "Lease",
  namespaced: true,
};
export const Events: ResourceType = {
  group: "events.k8s.io",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};
export const CustomResourceDefinitions: ResourceType = {
  group: "apiextensions.k8s.io",
  version: "v1",
  plural: "customresourcedefinitions",
  kind: "CustomResourceDefinition",
  namespaced: false,
};
export const RoleBindings: ResourceType = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "rolebindings",
  kind: "RoleBinding",
  namespaced: true,
};
export const NetworkPolicies: ResourceType = {
  group: "networking.k8s.io",
  version: "v1",
  plural: "networkpolicies",
  kind: "NetworkPolicy",
  namespaced: true,
};
export const StorageClasses: ResourceType = {
  group: "storage.k8s.io",
  version: "v1",
  plural: "storageclasses",
  kind: "StorageClass",
  namespaced: false,
};
