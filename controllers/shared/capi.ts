// Cluster API helpers of more than one controller (the Cluster, TKC and machine-owner controllers).
import { CapiLabels } from "../api/contracts.ts";
import type { KubeObject } from "../runtime/client.ts";
import type { Request } from "../runtime/controller.ts";

/** Maps a Cluster API object to the Cluster (or TKC: the same name) its cluster-name label names. */
export function clusterOf(o: KubeObject): Request[] {
  const name = o.metadata?.labels?.[CapiLabels.clusterName];
  return name ? [{ namespace: o.metadata?.namespace, name }] : [];
}
