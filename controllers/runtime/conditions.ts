// metav1.Condition helpers with apimachinery's SetStatusCondition semantics
// (k8s.io/apimachinery/pkg/api/meta/conditions.go) and a Cluster API style Ready summary.

export type ConditionStatus = "True" | "False" | "Unknown";

import { must } from "./must.js";

export interface Condition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  /** CamelCase, `^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$` */
  reason: string;
  message: string;
}

export type NewCondition = Omit<Condition, "lastTransitionTime"> & { lastTransitionTime?: string };

const reasonPattern = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === "True";
}

/**
 * Returns `conditions` with `cond` set. lastTransitionTime changes only when the status flips
 * (or the condition is new); reason, message and observedGeneration are always updated.
 * The input array is not modified. Throws on a reason the API server would reject.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  cond: NewCondition,
  now = new Date(),
): Condition[] {
  // (RegExp.test(undefined) tests the string "undefined": a missing reason must not pass.)
  if (typeof cond.reason !== "string" || !reasonPattern.test(cond.reason))
    throw new Error(`invalid condition reason ${JSON.stringify(cond.reason)}`);
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === cond.type);
  const nowString = rfc3339(now);
  if (i < 0) {
    list.push({ ...cond, lastTransitionTime: cond.lastTransitionTime ?? nowString });
    return list;
  }
  const old = must(list[i], "condition at the found index");
  list[i] = {
    ...old,
    ...cond,
    lastTransitionTime:
      old.status !== cond.status ? (cond.lastTransitionTime ?? nowString) : old.lastTransitionTime,
  };
  return list;
}

/** Sets several conditions at once. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  conds: NewCondition[],
  now = new Date(),
): Condition[] {
  return conds.reduce<Condition[]>((acc, c) => setCondition(acc, c, now), [...(conditions ?? [])]);
}

/**
 * A Ready condition that summarises `types`: True when all are True; otherwise the first that is
 * False (else Unknown) gives its status, reason and message — Cluster API's summary, simplified.
 */
export function summarizeReady(
  conditions: readonly Condition[] | undefined,
  types: string[],
  generation?: number,
): NewCondition {
  const missing = types.filter((t) => !findCondition(conditions, t));
  const notTrue = types
    .map((t) => findCondition(conditions, t))
    .filter((c): c is Condition => !!c && c.status !== "True");
  const blocking = notTrue.find((c) => c.status === "False") ?? notTrue[0];
  const base = generation === undefined ? {} : { observedGeneration: generation };
  if (blocking)
    return {
      ...base,
      type: "Ready",
      status: blocking.status,
      reason: blocking.reason,
      message: blocking.message,
    };
  if (missing.length > 0) {
    return {
      ...base,
      type: "Ready",
      status: "Unknown",
      reason: "Pending",
      message: `waiting for ${missing.join(", ")}`,
    };
  }
  return { ...base, type: "Ready", status: "True", reason: "Ready", message: "" };
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** metav1.MicroTime: six fractional digits. A Lease with a plain Date gets 400 from the API server. */
export function microTime(d: Date): string {
  return `${d.toISOString().slice(0, 23)}000Z`;
}

// ---------- Cluster API style helpers on an object (a working copy the reconciler may change) ----------

/** A condition as a status holds it: metav1's, or Cluster API's (whose reason and message are optional). */
export interface StoredCondition {
  type: string;
  status: ConditionStatus;
  observedGeneration?: number;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

/** Any object with metav1 (or Cluster API style) conditions in its status. */
export interface WithConditions {
  metadata?: { generation?: number };
  status?: { conditions?: StoredCondition[] };
}

function mark<T extends WithConditions>(
  obj: T,
  type: string,
  status: ConditionStatus,
  reason: string,
  message: string,
  now: Date,
): T {
  obj.status ??= {} as NonNullable<T["status"]>;
  const s = obj.status;
  s.conditions = setCondition(
    s.conditions as Condition[] | undefined,
    { type, status, reason, message, observedGeneration: obj.metadata?.generation },
    now,
  );
  return obj;
}

/** Sets `type` True on `obj` (stamped with its generation). */
export function markTrue<T extends WithConditions>(
  obj: T,
  type: string,
  reason: string = type,
  message = "",
  now = new Date(),
): T {
  return mark(obj, type, "True", reason, message, now);
}

/** A setter of one status: a CamelCase reason and a message a person understands. */
type Marker = <T extends WithConditions>(
  obj: T,
  type: string,
  reason: string,
  message: string,
  now?: Date,
) => T;

/** Sets `type` False with a CamelCase reason and a message a person understands. */
export const markFalse: Marker = (obj, type, reason, message, now = new Date()) =>
  mark(obj, type, "False", reason, message, now);

/** Sets `type` Unknown: not known yet (set conditions on the first visit, even before they are known). */
export const markUnknown: Marker = (obj, type, reason, message, now = new Date()) =>
  mark(obj, type, "Unknown", reason, message, now);

/** Sets `Ready` on `obj` as the summary of `types` (summarizeReady). */
export function markReadySummary<T extends WithConditions>(obj: T, types: string[], now = new Date()): T {
  const r = summarizeReady(obj.status?.conditions as Condition[] | undefined, types);
  return mark(obj, "Ready", r.status, r.reason, r.message, now);
}

export function conditionOf(obj: WithConditions | undefined, type: string): Condition | undefined {
  return findCondition(obj?.status?.conditions as Condition[] | undefined, type);
}
