// Cluster API v1beta1 conditions (those of the TanzuKubernetesCluster and TanzuKubernetesRelease
// CRDs) have no observedGeneration: the schema prunes it. markTrue/markFalse stamp one, so a working
// copy would always differ from what the cache holds and every reconcile would send a status patch
// the API server drops. Only what the schema keeps is written.
import type { WithConditions } from "../runtime/conditions.ts";

/** Removes observedGeneration from each of `obj`'s conditions (in place); returns `obj`. */
export function keepCapiConditionFields<T extends WithConditions>(obj: T): T {
  const list = obj.status?.conditions;
  if (!list || !obj.status) return obj;
  obj.status.conditions = list.map(({ observedGeneration: _dropped, ...kept }) => kept);
  return obj;
}
