// The patch helper, in Cluster API's style: snapshot an object at the start of a reconcile, change
// the working copy freely, then send what changed as two merge patches — metadata/spec first, then
// /status — each skipped when empty. The diff itself nulls the keys that vanished. Every controller
// writes through it, so NotFound and Conflict are handled one way:
// - NotFound: the object is gone (its deletion finished meanwhile): nothing to write, no failure;
//   `patch()` answers undefined.
// - Conflict: only finalizer changes carry the resourceVersion (a merge patch replaces the list
//   whole); they are retried on a fresh copy with the same additions and removals. Other patches
//   carry no resourceVersion and so never conflict.
import type { Client, KubeObject } from "./client.ts";
import { isConflict, isNotFound } from "./errors.ts";
import { deepEqual, type Json, mergePatch, snapshot } from "./patch.ts";
import type { ResourceType } from "./resource.ts";

type WithStatus = KubeObject & { status?: unknown };

export class PatchHelper<T extends WithStatus> {
  private readonly before: T;
  /** The working copy: change it freely; `patch()` sends what changed. */
  readonly obj: T;

  constructor(
    private readonly client: Client,
    private readonly resource: ResourceType<T>,
    current: T,
  ) {
    this.before = snapshot(current);
    this.obj = snapshot(current);
  }

  /** True when the working copy differs from the snapshot. */
  get changed(): boolean {
    return !deepEqual(this.before, this.obj);
  }

  /**
   * Sends the changes of `after` (default: the working copy) against the snapshot; returns the
   * latest object from the server (the snapshot's own when nothing was sent), or undefined when the
   * object is gone.
   */
  async patch(after: T = this.obj): Promise<T | undefined> {
    const { status: statusBefore, ...restBefore } = this.before;
    const { status: statusAfter, ...restAfter } = after;
    const name = after.metadata?.name ?? "";
    const namespace = after.metadata?.namespace;
    let latest: T = after;
    try {
      const main = mergePatch(strip(restBefore), strip(restAfter));
      if (main !== undefined) latest = await this.patchMain(name, namespace, main as { [k: string]: Json });
      const statusPatch = mergePatch({ status: statusBefore ?? {} }, { status: statusAfter ?? {} });
      if (statusPatch !== undefined) {
        latest = await this.client.patch(this.resource, name, namespace, statusPatch, {
          subresource: "status",
        });
      }
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    return latest;
  }

  private async patchMain(
    name: string,
    namespace: string | undefined,
    patch: { [k: string]: Json },
  ): Promise<T> {
    const meta = patch.metadata as { [k: string]: Json } | undefined;
    if (!meta || !("finalizers" in meta)) return this.client.patch(this.resource, name, namespace, patch);
    const before = this.before.metadata?.finalizers ?? [];
    const added = new Set((meta.finalizers as string[] | null) ?? []);
    const removed = new Set(before);
    for (const f of added) removed.delete(f);
    for (const f of before) added.delete(f);
    let resourceVersion = this.before.metadata?.resourceVersion;
    let finalizers = meta.finalizers;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.patch(this.resource, name, namespace, {
          ...patch,
          metadata: { ...meta, finalizers, resourceVersion: resourceVersion ?? null },
        });
      } catch (e) {
        if (!isConflict(e) || attempt >= 4) throw e;
        const fresh = await this.client.get(this.resource, name, namespace);
        resourceVersion = fresh.metadata?.resourceVersion;
        const current = (fresh.metadata?.finalizers ?? []).filter((f) => !removed.has(f));
        finalizers = [...current, ...[...added].filter((f) => !current.includes(f))];
      }
    }
  }
}

/**
 * One status write: sends the merge patch from `obj.status` to `status` (keys that vanished become
 * null), nothing when they are equal. Undefined when the object is gone.
 */
export async function patchStatus<T extends WithStatus>(
  client: Client,
  resource: ResourceType<T>,
  obj: T,
  status: T["status"],
): Promise<T | undefined> {
  const h = new PatchHelper(client, resource, obj);
  h.obj.status = snapshot(status);
  return h.changed ? h.patch() : obj;
}

/** Fields the server owns: never part of a patch. */
function strip(o: KubeObject): unknown {
  const m = { ...(o.metadata ?? {}) } as Record<string, unknown>;
  for (const k of [
    "resourceVersion",
    "managedFields",
    "creationTimestamp",
    "uid",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
  ])
    delete m[k];
  return { ...o, metadata: m };
}
