// Conditions in the v1beta1 shape (sigs.k8s.io/cluster-api/api/v1beta1 Condition and
// util/conditions), which is NOT metav1.Condition: `reason` and `message` are optional but at least
// one character when present, a False condition carries a `severity` (Error, Warning or Info) and
// only a False one does, and there is no `observedGeneration` (the kind's status has its own).
// Every writer of such conditions goes through this file, so the API server of the real upstream
// CRDs never refuses what we write (an empty message is a 422 there).
import { type Condition, type ConditionStatus, findCondition, rfc3339, setConditions } from "./conditions.ts";

export type Severity = "Error" | "Warning" | "Info";

/** A stored v1beta1 condition. */
export interface V1Beta1Condition {
  type: string;
  status: ConditionStatus;
  severity?: Severity;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

/** What a reconciler asks for: a False condition must say how severe it is. */
export type NewV1Beta1Condition =
  | { type: string; status: "True" | "Unknown"; reason?: string; message?: string }
  | { type: string; status: "False"; severity: Severity; reason: string; message?: string };

// The upstream CRD's limits (maxLength of reason and message).
const MAX_REASON = 256;
const MAX_MESSAGE = 10240;

/** The condition as the schema accepts it: empty fields dropped, severity only with False. */
function normalize(c: NewV1Beta1Condition): Omit<V1Beta1Condition, "lastTransitionTime"> {
  const out: Omit<V1Beta1Condition, "lastTransitionTime"> = { type: c.type, status: c.status };
  if (c.status === "False") out.severity = c.severity;
  if (c.reason) out.reason = c.reason.slice(0, MAX_REASON);
  if (c.message) out.message = c.message.slice(0, MAX_MESSAGE);
  return out;
}

const sameState = (a: Omit<V1Beta1Condition, "lastTransitionTime">, b: V1Beta1Condition) =>
  a.status === b.status && a.severity === b.severity && a.reason === b.reason && a.message === b.message;

/**
 * Returns `conditions` with each of `conds` set, as util/conditions.Set does: lastTransitionTime
 * changes only when status, severity, reason or message change. Stored conditions written by an
 * older Pacific (empty strings, observedGeneration) are cleaned on the way. Input is not modified.
 */
export function setV1Beta1Conditions(
  conditions: readonly (V1Beta1Condition | Condition)[] | undefined,
  conds: readonly NewV1Beta1Condition[],
  now = new Date(),
): V1Beta1Condition[] {
  const list = (conditions ?? []).map(clean);
  for (const c of conds) {
    const next = normalize(c);
    const i = list.findIndex((x) => x.type === c.type);
    const old = i < 0 ? undefined : list[i];
    const stored: V1Beta1Condition = {
      ...next,
      lastTransitionTime: old && sameState(next, old) ? old.lastTransitionTime : rfc3339(now),
    };
    if (i < 0) list.push(stored);
    else list[i] = stored;
  }
  return list;
}

/** A stored condition in the v1beta1 shape (drops observedGeneration and empty strings). */
function clean(c: V1Beta1Condition | Condition): V1Beta1Condition {
  const out: V1Beta1Condition = {
    type: c.type,
    status: c.status,
    lastTransitionTime: c.lastTransitionTime,
  };
  const severity = (c as V1Beta1Condition).severity;
  if (c.status === "False" && severity) out.severity = severity;
  if (c.reason) out.reason = c.reason;
  if (c.message) out.message = c.message;
  return out;
}

/**
 * A metav1-style condition (status, reason, message) in the v1beta1 shape; a False one gets
 * `severity`. For decisions written once for both shapes.
 */
export function asV1Beta1(
  c: { type: string; status: ConditionStatus; reason?: string; message?: string },
  severity: Severity,
): NewV1Beta1Condition {
  return c.status === "False"
    ? { type: c.type, status: "False", severity, reason: c.reason || c.type, message: c.message }
    : { type: c.type, status: c.status, reason: c.reason, message: c.message };
}

/**
 * Ready as util/conditions.SetSummary: True when every one of `types` is True; else the most severe
 * False (Error > Warning > Info) gives status, reason, severity and message; else Unknown.
 */
export function v1beta1Summary(
  conditions: readonly V1Beta1Condition[] | undefined,
  types: readonly string[],
  readyType = "Ready",
): NewV1Beta1Condition {
  const found = types.map((t) => findCondition(conditions as Condition[] | undefined, t) as V1Beta1Condition);
  const rank = { Error: 0, Warning: 1, Info: 2 } as const;
  const falses = found
    .filter((c): c is V1Beta1Condition => c?.status === "False")
    .sort((a, b) => rank[a.severity ?? "Info"] - rank[b.severity ?? "Info"]);
  const worst = falses[0];
  if (worst)
    return {
      type: readyType,
      status: "False",
      severity: worst.severity ?? "Info",
      reason: worst.reason ?? worst.type,
      message: worst.message,
    };
  const missing = types.filter((_, i) => !found[i]);
  const unknown = found.find((c) => c && c.status !== "True");
  if (unknown || missing.length)
    return {
      type: readyType,
      status: "Unknown",
      // A reason always, so a reader can tell "not known yet" from a summary that lost its cause.
      reason: unknown?.reason ?? "Pending",
      message: unknown?.message ?? `waiting for ${missing.join(", ")}`,
    };
  return { type: readyType, status: "True" };
}

/** Object helpers, as util/conditions MarkTrue/MarkFalse/MarkUnknown. */
/** (Generated types spell severity as the CRD's enum or a string: any list of such conditions.) */
export interface WithV1Beta1Conditions {
  status?: { conditions?: Array<{ type: string; status: string; severity?: string }> };
}

type Conditions<T extends WithV1Beta1Conditions> = NonNullable<T["status"]>["conditions"];

function mark<T extends WithV1Beta1Conditions>(obj: T, c: NewV1Beta1Condition, now: Date): T {
  obj.status ??= {} as NonNullable<T["status"]>;
  const s = obj.status;
  s.conditions = setV1Beta1Conditions(
    s.conditions as V1Beta1Condition[] | undefined,
    [c],
    now,
  ) as Conditions<T>;
  return obj;
}

/** True; a reason and message are optional (UpdatesAvailable, for one, says which in its message). */
export const markTrue = <T extends WithV1Beta1Conditions>(
  obj: T,
  type: string,
  reason?: string,
  message?: string,
  now = new Date(),
): T => mark(obj, { type, status: "True", reason, message }, now);

/** Ready on `obj` as the summary of `types` (v1beta1Summary). */
export const markReadySummary = <T extends WithV1Beta1Conditions>(
  obj: T,
  types: readonly string[],
  now = new Date(),
): T => mark(obj, v1beta1Summary(obj.status?.conditions as V1Beta1Condition[] | undefined, types), now);

export const markFalse = <T extends WithV1Beta1Conditions>(
  obj: T,
  type: string,
  reason: string,
  severity: Severity,
  message?: string,
  now = new Date(),
): T => mark(obj, { type, status: "False", reason, severity, message }, now);

export const markUnknown = <T extends WithV1Beta1Conditions>(
  obj: T,
  type: string,
  reason: string,
  message?: string,
  now = new Date(),
): T => mark(obj, { type, status: "Unknown", reason, message }, now);

/**
 * Cluster API's `status.v1beta2.conditions` (since v1.9): metav1.Condition — a CamelCase reason
 * always, a message (may be empty), the object's generation in each. Set as apimachinery's
 * SetStatusCondition (lastTransitionTime moves when the status flips).
 */
export function setV1Beta2Conditions(
  conditions: readonly Condition[] | undefined,
  conds: ReadonlyArray<{ type: string; status: ConditionStatus; reason: string; message?: string }>,
  generation: number | undefined,
  now = new Date(),
): Condition[] {
  return setConditions(
    conditions,
    conds.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: (c.message ?? "").slice(0, 32768),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
    })),
    now,
  );
}
