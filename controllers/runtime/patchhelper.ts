// The patch helper, in Cluster API's style: snapshot an object before reconciling, change it
// freely, then send what changed as two merge patches, metadata/spec first, then /status, each
// skipped when empty. Finalizer changes carry the resourceVersion (a merge patch replaces the list
// whole), and a conflict is retried on a fresh copy with the same additions and removals.
import type { KubeClient, KubeObject } from "./client.ts";
import { isConflict } from "./errors.ts";
import { deepEqual, type Json, mergePatch, snapshot } from "./patch.ts";
import type { ResourceType } from "./resource.ts";

type WithStatus = KubeObject & { status?: unknown };

export class PatchHelper<T extends WithStatus> {
  private readonly before: T;

  constructor(
    private readonly client: KubeClient,
    private readonly resource: ResourceType,
    obj: T,
  ) {
    this.before = snapshot(obj);
  }

  /** Sends the changes of `after` against the snapshot; returns the latest object from the server. */
  async patch(after: T): Promise<T> {
    const { status: statusBefore, ...restBefore } = this.before;
    const { status: statusAfter, ...restAfter } = after;
    const name = after.metadata?.name ?? "";
    const namespace = after.metadata?.namespace;
    let latest: T = after;

    const main = mergePatch(strip(restBefore), strip(restAfter));
    if (main !== undefined) latest = await this.patchMain(name, namespace, main as { [k: string]: Json });

    if (!deepEqual(statusBefore, statusAfter)) {
      const statusPatch = mergePatch({ status: statusBefore ?? {} }, { status: statusAfter ?? {} });
      if (statusPatch !== undefined) {
        latest = await this.client.patch<T>(this.resource, name, namespace, statusPatch, {
          subresource: "status",
        });
      }
    }
    return latest;
  }

  private async patchMain(
    name: string,
    namespace: string | undefined,
    patch: { [k: string]: Json },
  ): Promise<T> {
    const meta = patch.metadata as { [k: string]: Json } | undefined;
    if (!meta || !("finalizers" in meta)) return this.client.patch<T>(this.resource, name, namespace, patch);
    const added = new Set((meta.finalizers as string[] | null) ?? []);
    const removed = new Set(this.before.metadata?.finalizers ?? []);
    for (const f of added) removed.delete(f);
    for (const f of this.before.metadata?.finalizers ?? []) added.delete(f);
    let resourceVersion = this.before.metadata?.resourceVersion;
    let finalizers = meta.finalizers;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.client.patch<T>(this.resource, name, namespace, {
          ...patch,
          metadata: { ...meta, finalizers, resourceVersion: resourceVersion ?? null },
        });
      } catch (e) {
        if (!isConflict(e) || attempt >= 4) throw e;
        const fresh = await this.client.get<T>(this.resource, name, namespace);
        resourceVersion = fresh.metadata?.resourceVersion;
        const current = (fresh.metadata?.finalizers ?? []).filter((f) => !removed.has(f));
        finalizers = [...current, ...[...added].filter((f) => !current.includes(f))];
      }
    }
  }
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
  ])
    delete m[k];
  return { ...o, metadata: m };
}
