// ResourceQuotas that Pacific writes (a Supervisor Namespace's limits, a storage class binding's
// share): what counts as a change of `spec.hard`.
import type { V1ResourceQuota } from "@kubernetes/client-node";
import { type ChildDiff, replaceDiff } from "../runtime/children.ts";
import { sameQuantities } from "./quantity.ts";

const replaceSpec = replaceDiff<V1ResourceQuota>("spec");

/**
 * `spec.hard` compared as quantities (the API server stores "1024Mi" as "1Gi"), and when it differs
 * replaced exactly: a limit added by hand is removed.
 */
export const quotaDiff: ChildDiff<V1ResourceQuota> = (current, want) =>
  sameQuantities(current.spec?.hard, want.spec?.hard) ? undefined : replaceSpec(current, want);
