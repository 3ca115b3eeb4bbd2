// Cluster API helpers of more than one controller (the Cluster, TKC and machine-owner controllers).
import { CapiLabels } from "../api/contracts.ts";
import type { KubeObject } from "../runtime/client.ts";
import type { Request } from "../runtime/controller.ts";

/** Maps a Cluster API object to the Cluster (or TKC: the same name) its cluster-name label names. */
export function clusterOf(o: KubeObject): Request[] {
  const name = o.metadata?.labels?.[CapiLabels.clusterName];
  return name ? [{ namespace: o.metadata?.namespace, name }] : [];
}

/**
 * What an owner reads of a child's v1beta1 Ready condition (status, severity, reason, message; not
 * its times): the part of a child's status change-predicates compare.
 */
export function readyOf(o: KubeObject): Record<string, unknown> | undefined {
  const conditions = (o as { status?: { conditions?: Array<Record<string, unknown>> } }).status?.conditions;
  const c = conditions?.find((x) => x.type === "Ready");
  return c && { status: c.status, severity: c.severity, reason: c.reason, message: c.message };
}
