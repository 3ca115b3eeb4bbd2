// The objects a SupervisorNamespace owns, derived from its spec. Pure functions; names are
// deterministic so a restart finds what it made.
import type {
  V1LimitRange,
  V1Namespace,
  V1NetworkPolicy,
  V1ResourceQuota,
  V1RoleBinding,
} from "@kubernetes/client-node";
import {
  ACCESS_SUBJECTS_ANNOTATION,
  DEFAULTS_LIMIT_RANGE_NAME,
  ISOLATION_NETWORK_POLICY_NAME,
  LIMITS_QUOTA_NAME,
  managedByLabels,
  NETWORK_ISOLATION_LABEL,
  OWNER_CLUSTER_ROLE,
  ROLE_LABEL,
  STORAGE_CLASSES_ANNOTATION,
  SUBJECT_ANNOTATION,
  SUPERVISOR_NAMESPACE_LABEL,
  SYSTEM_NAMESPACE,
  WORKLOADS_FINALIZER,
} from "../api/contracts.ts";
import type { VirtualMachineClass, VirtualMachineClassSpec } from "../api/vmoperator/virtualmachineclass.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceApiVersion,
} from "../api/vsphere/supervisornamespace.ts";
import { controllerRef } from "../runtime/owner.ts";
import { stableHash } from "../settings.ts";
import { bytes, cpuMilli } from "../shared/quantity.ts";

const ref = (svns: SupervisorNamespace) =>
  controllerRef({
    apiVersion: SupervisorNamespaceApiVersion,
    kind: "SupervisorNamespace",
    metadata: svns.metadata,
  });

function labels(svns: SupervisorNamespace): Record<string, string> {
  return { [SUPERVISOR_NAMESPACE_LABEL]: svns.metadata.name ?? "", ...managedByLabels };
}

export function desiredNamespace(svns: SupervisorNamespace, boundClasses: string[]): V1Namespace {
  const level = svns.spec.podSecurity;
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: svns.metadata.name,
      labels: {
        ...labels(svns),
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": level,
        "pod-security.kubernetes.io/audit": level,
        [NETWORK_ISOLATION_LABEL]: String(svns.spec.networkIsolation),
      },
      annotations: {
        [STORAGE_CLASSES_ANNOTATION]: [...boundClasses].sort().join(","),
        [ACCESS_SUBJECTS_ANNOTATION]: accessSubjects(svns).join(","),
      },
      ownerReferences: [ref(svns)],
      // Held until no object of a Pacific kind is left in it (see release.ts).
      finalizers: [WORKLOADS_FINALIZER],
    },
  };
}

/**
 * The quota keys of each objectCounts field. A vSphere Pod is a pod on the Supervisor, so `pods`
 * also counts VSpherePods: without it the API server accepted any number of them and they waited
 * for a Pod the quota refused (issue 19, finding 7).
 */
const countKeys: Record<string, string[]> = {
  pods: ["count/pods", "count/vspherepods.vsphere.pacific.dev"],
  services: ["count/services"],
  deployments: ["count/deployments.apps"],
  statefulSets: ["count/statefulsets.apps"],
  jobs: ["count/jobs.batch"],
  persistentVolumeClaims: ["count/persistentvolumeclaims"],
  secrets: ["count/secrets"],
  configMaps: ["count/configmaps"],
  virtualMachines: ["count/virtualmachines.vmoperator.vmware.com"],
  tanzuKubernetesClusters: ["count/tanzukubernetesclusters.run.tanzu.vmware.com"],
  // VIPs come from one pool shared by every namespace (finding 5).
  loadBalancers: ["services.loadbalancers", "count/virtualmachineservices.vmoperator.vmware.com"],
};

/**
 * LoadBalancer Services a namespace may have when objectCounts.loadBalancers is unset: the VIP pool
 * is shared, so no namespace takes it all (finding 5). VirtualMachineServices are counted only when
 * the admin sets the field: a count of a custom kind is refused as "status unknown" until
 * kube-controller-manager has discovered the kind, which a default must never cost a new namespace.
 */
export const DEFAULT_LOAD_BALANCERS = 16;

/** The ResourceQuota of the namespace's limits (at least the load balancer default). */
export function desiredQuota(svns: SupervisorNamespace): V1ResourceQuota | undefined {
  const hard: Record<string, string> = {};
  const l = svns.spec.limits;
  if (l?.cpu !== undefined) hard["limits.cpu"] = String(l.cpu);
  if (l?.memory !== undefined) hard["limits.memory"] = String(l.memory);
  if (l?.storage !== undefined) hard["requests.storage"] = String(l.storage);
  for (const [k, v] of Object.entries(svns.spec.objectCounts ?? {})) {
    if (v === undefined) continue;
    for (const key of countKeys[k] ?? []) hard[key] = String(v);
  }
  if (svns.spec.objectCounts?.loadBalancers === undefined)
    hard["services.loadbalancers"] = String(DEFAULT_LOAD_BALANCERS);
  if (Object.keys(hard).length === 0) return undefined;
  return {
    apiVersion: "v1",
    kind: "ResourceQuota",
    metadata: {
      name: LIMITS_QUOTA_NAME,
      namespace: svns.metadata.name,
      labels: labels(svns),
      ownerReferences: [ref(svns)],
    },
    spec: { hard },
  };
}

/** `fallback`, or `request` when that is larger. */
function atLeast(
  fallback: string,
  request: string | number | undefined,
  value: (q: string | number) => number,
): string {
  return request !== undefined && value(request) > value(fallback) ? String(request) : fallback;
}

/**
 * Container defaults. With a CPU or memory limit on the namespace every container needs a limit
 * (or the quota refuses the pod), so those get a default even when the spec names none.
 */
export function desiredLimitRange(svns: SupervisorNamespace): V1LimitRange | undefined {
  const d = svns.spec.defaults;
  const l = svns.spec.limits;
  const def: Record<string, string> = {};
  const req: Record<string, string> = {};
  // A derived default limit is never below the default request: the API server refuses a
  // LimitRange whose default request exceeds its default limit.
  if (d?.limits?.cpu !== undefined) def.cpu = String(d.limits.cpu);
  else if (l?.cpu !== undefined) def.cpu = atLeast("500m", d?.requests?.cpu, cpuMilli);
  if (d?.limits?.memory !== undefined) def.memory = String(d.limits.memory);
  else if (l?.memory !== undefined) def.memory = atLeast("512Mi", d?.requests?.memory, bytes);
  if (d?.requests?.cpu !== undefined) req.cpu = String(d.requests.cpu);
  if (d?.requests?.memory !== undefined) req.memory = String(d.requests.memory);
  if (Object.keys(def).length === 0 && Object.keys(req).length === 0) return undefined;
  return {
    apiVersion: "v1",
    kind: "LimitRange",
    metadata: {
      name: DEFAULTS_LIMIT_RANGE_NAME,
      namespace: svns.metadata.name,
      labels: labels(svns),
      ownerReferences: [ref(svns)],
    },
    spec: {
      limits: [
        // (typed loosely: the JSON keys, not client-node's renamed model properties)
        {
          type: "Container",
          // The JSON key is "default" (client-node's model calls it _default; we send plain JSON).
          ...(Object.keys(def).length ? { default: def } : {}),
          ...(Object.keys(req).length ? { defaultRequest: req } : {}),
        },
      ],
    },
  } as unknown as V1LimitRange;
}

/** The Kubernetes user or group name of an access entry, as the Supervisor names SSO principals. */
export function principal(entry: { subject: string; domain: string }): string {
  return `sso:${entry.subject}@${entry.domain}`;
}

/** The RBAC subjects of the access list as `Kind:name`, sorted and without repeats. */
export function accessSubjects(svns: SupervisorNamespace): string[] {
  return [...new Set((svns.spec.access ?? []).map((a) => `${a.subjectType}:${principal(a)}`))].sort();
}

/** RoleBindings of the access list: one per entry (Owner gets a second, for permissions). */
export function desiredRoleBindings(svns: SupervisorNamespace): V1RoleBinding[] {
  const out: V1RoleBinding[] = [];
  for (const a of svns.spec.access ?? []) {
    const subject = { kind: a.subjectType, apiGroup: "rbac.authorization.k8s.io", name: principal(a) };
    const id = `${a.subjectType.toLowerCase()}-${stableHash(`${a.subjectType}/${a.subject}@${a.domain}`).toString(36)}`;
    const binding = (name: string, clusterRole: string): V1RoleBinding => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: {
        name,
        namespace: svns.metadata.name,
        labels: { ...labels(svns), [ROLE_LABEL]: a.role.toLowerCase() },
        annotations: { [SUBJECT_ANNOTATION]: `${a.subjectType}:${principal(a)}` },
        ownerReferences: [ref(svns)],
      },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
      subjects: [subject],
    });
    out.push(
      binding(`pacific-${a.role === "View" ? "view" : "edit"}-${id}`, a.role === "View" ? "view" : "edit"),
    );
    if (a.role === "Owner") out.push(binding(`pacific-owner-${id}`, OWNER_CLUSTER_ROLE));
  }
  return out;
}

/** Traffic from the namespace itself and from Pacific's system namespace; nothing else. */
export function desiredNetworkPolicy(svns: SupervisorNamespace): V1NetworkPolicy | undefined {
  if (!svns.spec.networkIsolation) return undefined;
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: {
      name: ISOLATION_NETWORK_POLICY_NAME,
      namespace: svns.metadata.name,
      labels: labels(svns),
      ownerReferences: [ref(svns)],
    },
    spec: {
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [
        {
          // The JSON key is "from" (client-node's model calls it _from).
          from: [
            { podSelector: {} },
            { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": SYSTEM_NAMESPACE } } },
          ],
        },
      ],
    },
  } as unknown as V1NetworkPolicy;
}

/** The VirtualMachineClasses to copy into the namespace, and the names the catalogue lacks. */
export function desiredVMClasses(
  svns: SupervisorNamespace,
  catalogue: Record<string, VirtualMachineClassSpec>,
): { classes: VirtualMachineClass[]; unknown: string[] } {
  const classes: VirtualMachineClass[] = [];
  const unknown: string[] = [];
  for (const name of svns.spec.vmClasses ?? []) {
    const spec = catalogue[name];
    if (!spec) {
      unknown.push(name);
      continue;
    }
    classes.push({
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachineClass",
      metadata: { name, namespace: svns.metadata.name, labels: labels(svns), ownerReferences: [ref(svns)] },
      spec,
    });
  }
  return { classes, unknown };
}
