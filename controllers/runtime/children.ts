// Owned children: create-or-update of an object a controller makes, from what it wants and what the
// cache holds. Only what the controller means is written: labels, annotations and ownerReferences
// are overlaid (others' labels stay), and the body by the `diff` the caller chooses.
import type { Client, KubeObject } from "./client.ts";
import { ignoreNotFound } from "./errors.ts";
import { isControlledBy } from "./owner.ts";
import { mergePatch, overlayPatch } from "./patch.ts";
import type { ResourceType } from "./resource.ts";

/** The patch body (without metadata) that makes `current` what `want` is; undefined when nothing is to change. */
export type ChildDiff<T> = (current: T, want: T) => object | undefined;

const NOT_BODY = new Set(["apiVersion", "kind", "metadata", "status"]);

/** Default: every field `want` names (spec, data, subjects, ...) overlaid; fields only the server set stay. */
export function overlayDiff<T extends KubeObject>(current: T, want: T): object | undefined {
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(want)) {
    if (NOT_BODY.has(k)) continue;
    const p = overlayPatch((current as Record<string, unknown>)[k], v);
    if (p !== undefined) body[k] = p;
  }
  return Object.keys(body).length > 0 ? body : undefined;
}

/** `fields` replaced exactly: keys `want` no longer has are removed (merge patch nulls them). */
export function replaceDiff<T extends KubeObject>(...fields: string[]): ChildDiff<T> {
  return (current, want) => {
    const c = current as Record<string, unknown>;
    const w = want as Record<string, unknown>;
    const body: Record<string, unknown> = {};
    for (const f of fields) {
      const p = mergePatch(c[f] ?? {}, w[f] ?? {});
      if (p !== undefined) body[f] = p;
    }
    return Object.keys(body).length > 0 ? body : undefined;
  };
}

export type ChildResult = "created" | "updated" | "unchanged";

/** Creates `want` when `current` is absent; otherwise patches what differs. */
export async function ensureChild<T extends KubeObject>(
  client: Client,
  resource: ResourceType<T>,
  want: T,
  current: T | undefined,
  diff: ChildDiff<T> = overlayDiff,
): Promise<ChildResult> {
  if (!current) {
    await client.create(resource, want);
    return "created";
  }
  const meta = overlayPatch(current.metadata, {
    labels: want.metadata?.labels,
    annotations: want.metadata?.annotations,
    ownerReferences: want.metadata?.ownerReferences,
  });
  const body = { ...(diff(current, want) ?? {}), ...(meta ? { metadata: meta } : {}) };
  if (Object.keys(body).length === 0) return "unchanged";
  const m = current.metadata ?? {};
  await client.patch(resource, m.name ?? "", m.namespace, body);
  return "updated";
}

/** Deletes `current` if the object with `ownerUid` controls it (never someone else's). NotFound is no failure. */
export async function deleteChild<T extends KubeObject>(
  client: Client,
  resource: ResourceType<T>,
  current: T | undefined,
  ownerUid: string | undefined,
): Promise<boolean> {
  if (!current?.metadata?.name || !isControlledBy(current.metadata, ownerUid)) return false;
  await client.delete(resource, current.metadata.name, current.metadata.namespace).catch(ignoreNotFound);
  return true;
}
