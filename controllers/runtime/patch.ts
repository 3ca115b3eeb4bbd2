// The pure half of the patch helper (Cluster API's util/patch): the JSON merge patch (RFC 7386)
// that turns `before` into `after`. Arrays are replaced whole, as merge patch requires; fields
// that vanished become null. An empty patch means there is nothing to send.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** The merge patch from `before` to `after`, or undefined when they are equal. */
export function mergePatch(before: unknown, after: unknown): Json | undefined {
  if (deepEqual(before, after)) return undefined;
  if (!isObject(before) || !isObject(after)) return (after ?? null) as Json;
  const patch: JsonObject = {};
  for (const k of Object.keys(after)) {
    if (after[k] === undefined) continue;
    const p = mergePatch(before[k], after[k]);
    if (p !== undefined) patch[k] = p;
  }
  for (const k of Object.keys(before)) {
    if (before[k] !== undefined && (!(k in after) || after[k] === undefined)) patch[k] = null;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** A deep copy of JSON data (the snapshot the patch helper diffs against). */
export function snapshot<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/**
 * A merge patch that makes `current` carry every field of `desired`, leaving fields `desired` does
 * not mention alone (labels or taints others added, say). A null in `desired` removes the field.
 * Arrays are compared and replaced whole. Undefined when nothing needs to change.
 */
export function overlayPatch(current: unknown, desired: unknown): Json | undefined {
  if (desired === undefined) return undefined;
  if (desired === null) return current === undefined || current === null ? undefined : null;
  if (!isObject(desired)) return deepEqual(current, desired) ? undefined : (desired as Json);
  const cur = isObject(current) ? current : {};
  const patch: JsonObject = {};
  for (const [k, v] of Object.entries(desired)) {
    const p = overlayPatch(cur[k], v);
    if (p !== undefined) patch[k] = p;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}
