// The ClusterClasses the Supervisor publishes, as objects: pure functions of the shipped classes
// (controllers/api/clusterclasses.ts, generated from clusterclasses/*.yaml) and their namespace.
import type { ClusterClass } from "../api/cluster/clusterclass.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, SUPERVISOR_NAMESPACE_LABEL } from "../api/contracts.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceApiVersion,
} from "../api/vsphere/supervisornamespace.ts";
import { controllerRef } from "../runtime/owner.ts";

/**
 * A class of every Supervisor Namespace, in `svns`'s namespace: a child of the SupervisorNamespace
 * (labels and controller reference as its other children), so it goes with the namespace.
 */
export function namespaceClass(template: ClusterClass, svns: SupervisorNamespace): ClusterClass {
  const name = svns.metadata.name ?? "";
  return {
    apiVersion: "cluster.x-k8s.io/v1beta1",
    kind: "ClusterClass",
    metadata: {
      name: template.metadata.name,
      namespace: name,
      labels: {
        ...template.metadata.labels,
        [SUPERVISOR_NAMESPACE_LABEL]: name,
        [MANAGED_BY_LABEL]: MANAGED_BY,
      },
      annotations: template.metadata.annotations,
      ownerReferences: [
        controllerRef({
          apiVersion: SupervisorNamespaceApiVersion,
          kind: "SupervisorNamespace",
          metadata: svns.metadata,
        }),
      ],
    },
    spec: template.spec,
  };
}

/** A public class (its namespace is in the template): Pacific's, no owner (the chart makes the namespace). */
export function publicClass(template: ClusterClass): ClusterClass {
  return {
    apiVersion: "cluster.x-k8s.io/v1beta1",
    kind: "ClusterClass",
    metadata: {
      name: template.metadata.name,
      namespace: template.metadata.namespace,
      labels: { ...template.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: template.metadata.annotations,
    },
    spec: template.spec,
  };
}
