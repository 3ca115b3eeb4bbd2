// The parts of Cluster API's Cluster.spec.topology the topology step reads, as upstream names them
// (sigs.k8s.io/cluster-api/api/v1beta1 Topology), with a variable's value as any JSON.

import type { ClusterSpec } from "../../api/cluster/cluster.ts";

/** A ClusterVariable: a name and a JSON value (validated against the class's schema at admission). */
export interface TopologyVariable {
  name: string;
  value: unknown;
  definitionFrom?: string;
}

export interface TopologyMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface MachineDeploymentTopology {
  /** The worker class of the ClusterClass (`node-pool` in VMware's classes). */
  class: string;
  /** Unique within the Cluster; the MachineDeployment's name is `<cluster>-<name>`. */
  name: string;
  replicas?: number;
  failureDomain?: string;
  nodeDrainTimeout?: string;
  metadata?: TopologyMetadata;
  variables?: { overrides?: TopologyVariable[] };
}

export interface ClusterTopology {
  class: string;
  /** Where the class lives (the Cluster's namespace when omitted, as upstream). */
  classNamespace?: string;
  version: string;
  controlPlane?: { replicas?: number; metadata?: TopologyMetadata; nodeDrainTimeout?: string };
  workers?: { machineDeployments?: MachineDeploymentTopology[] };
  variables?: TopologyVariable[];
}

/** The topology of a Cluster, if it has one with a class. */
export function topologyOf(c: { spec?: { topology?: unknown } }): ClusterTopology | undefined {
  const t = c.spec?.topology as Partial<ClusterTopology> | undefined;
  return t?.class ? (t as ClusterTopology) : undefined;
}

/**
 * A topology as the generated Cluster type spells it. A variable's `value` is any JSON (upstream's
 * apiextensionsv1.JSON: a string, a list, an object); the generator types such a field as an
 * object, so a string value needs this one cast.
 */
export function asClusterTopology(t: ClusterTopology): ClusterSpec["topology"] {
  return t as unknown as ClusterSpec["topology"];
}
