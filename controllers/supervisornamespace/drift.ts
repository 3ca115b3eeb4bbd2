// What counts as drift between a child in the cluster and the one the SupervisorNamespace wants:
// the differences put back (as a patch body, for ensureChild). Pure.
import type { V1LimitRange, V1RoleBinding } from "@kubernetes/client-node";
import type { ChildDiff } from "../runtime/children.ts";
import type { KubeObject } from "../runtime/client.ts";
import { deepEqual } from "../runtime/patch.ts";
import { sameQuantities } from "../shared/quantity.ts";

type WithSpec = KubeObject & { spec?: unknown };

/** The spec, sent whole unless equal (NetworkPolicy, VirtualMachineClass). */
export function specDiff<T extends WithSpec>(current: T, want: T): object | undefined {
  return deepEqual(current.spec, want.spec) ? undefined : { spec: want.spec };
}

interface LimitItem {
  type?: string;
  default?: Record<string, string>;
  defaultRequest?: Record<string, string>;
}

function limitItems(spec: unknown): LimitItem[] {
  return (spec as { limits?: LimitItem[] } | undefined)?.limits ?? [];
}

/**
 * A Container item as the API server stores it: a resource with a default limit and no default
 * request gets the limit as its request (SetDefaults_LimitRangeItem, pkg/apis/core/v1/defaults.go).
 * Compared without this, every LimitRange Pacific makes with derived limits looked changed, and
 * each reconcile patched it back to what it already was.
 */
export function withServerDefaults(item: LimitItem): LimitItem {
  if (item.type !== "Container" || !item.default) return item;
  return { ...item, defaultRequest: { ...item.default, ...item.defaultRequest } };
}

/** Container defaults compared as quantities and as the API server defaults them (it normalises both). */
export function sameLimits(a: unknown, b: unknown): boolean {
  const la = limitItems(a).map(withServerDefaults);
  const lb = limitItems(b).map(withServerDefaults);
  return (
    la.length === lb.length &&
    la.every((x, i) => {
      const y = lb[i];
      return (
        y !== undefined &&
        x.type === y.type &&
        sameQuantities(x.default, y.default) &&
        sameQuantities(x.defaultRequest, y.defaultRequest)
      );
    })
  );
}

/** The LimitRange's spec, sent whole when its defaults differ. */
export const limitRangeDiff: ChildDiff<V1LimitRange> = (current, want) =>
  sameLimits(current.spec, want.spec) ? undefined : { spec: want.spec };

/** A RoleBinding's subjects (its roleRef cannot change: a different one means delete and make again). */
export const subjectsDiff: ChildDiff<V1RoleBinding> = (current, want) =>
  deepEqual(current.subjects, want.subjects) ? undefined : { subjects: want.subjects };
