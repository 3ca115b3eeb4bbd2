// The Spherelet's one write path for pod status, and what it remembers of its own writes.
// A pod's status is the kubelet's to post whole, as a merge patch of the status it built (fields
// it does not name — qosClass, others' conditions — stay as they are), with the pod's uid as a
// precondition: a pod deleted, or replaced by one of the same name, is no failure.
// A written status is kept until the cache shows it (milliseconds; at most WRITTEN_TTL_MS) so that
// a quick re-run of the host's loop sees it: no deep copy, the pod as cached with that status.
import type { V1Pod, V1PodStatus } from "@kubernetes/client-node";
import type { Client } from "../../runtime/client.ts";
import { isConflict, isNotFound } from "../../runtime/errors.ts";
import type { Informer } from "../../runtime/informer.ts";
import { Pods } from "../../runtime/resource.ts";

const WRITTEN_TTL_MS = 5_000;

interface Written {
  resourceVersion: string;
  status: V1PodStatus;
  at: number;
}

/** NotFound (gone) and Conflict (the uid precondition: a new pod of that name) end a pod's write. */
export function ignoreGoneOrReplaced(e: unknown): undefined {
  if (isNotFound(e) || isConflict(e)) return undefined;
  throw e;
}

export class PodStatusWriter {
  /** Statuses written but not yet seen in the cache, by pod uid. */
  private readonly written = new Map<string, Written>();
  /**
   * Pods this Spherelet removed (final delete sent) that the cache still shows, by uid → when: the
   * host's next pass must not delete them again (a second DELETE per pod, answered 404).
   */
  private readonly removedAt = new Map<string, number>();

  constructor(
    private readonly client: Client,
    pods: Informer<V1Pod>,
  ) {
    const observe = (p: V1Pod) => {
      const uid = p.metadata?.uid ?? "";
      const w = this.written.get(uid);
      if (w && (w.resourceVersion === p.metadata?.resourceVersion || Date.now() - w.at > WRITTEN_TTL_MS))
        this.written.delete(uid);
    };
    pods.addHandler({
      add: observe,
      update: (_o, n) => observe(n),
      delete: (p) => {
        this.written.delete(p.metadata?.uid ?? "");
        this.removedAt.delete(p.metadata?.uid ?? "");
      },
    });
  }

  /** Remembers that `uid`'s final delete was sent (until the cache drops it, or WRITTEN_TTL_MS). */
  markRemoved(uid: string | undefined): void {
    if (uid) this.removedAt.set(uid, Date.now());
  }

  /** The pod's final delete was sent and the cache has not caught up yet. */
  removed(p: V1Pod): boolean {
    const uid = p.metadata?.uid ?? "";
    const at = this.removedAt.get(uid);
    if (at === undefined) return false;
    if (Date.now() - at > WRITTEN_TTL_MS) {
      this.removedAt.delete(uid);
      return false;
    }
    return true;
  }

  /** The pod as cached, with a status we wrote but the cache has not shown yet. */
  effective(p: V1Pod): V1Pod {
    const uid = p.metadata?.uid ?? "";
    const w = this.written.get(uid);
    if (!w) return p;
    if (Date.now() - w.at > WRITTEN_TTL_MS) {
      this.written.delete(uid);
      return p;
    }
    return { ...p, status: w.status };
  }

  /** Posts `status` for `pod`. A pod gone or replaced meanwhile is no failure. */
  async write(pod: V1Pod, status: V1PodStatus): Promise<void> {
    const m = pod.metadata ?? {};
    const updated = await this.client
      .patch(Pods, m.name ?? "", m.namespace, { metadata: { uid: m.uid }, status }, { subresource: "status" })
      .catch(ignoreGoneOrReplaced);
    if (!updated || !m.uid) return;
    this.written.set(m.uid, {
      resourceVersion: updated.metadata?.resourceVersion ?? "",
      status: updated.status ?? status,
      at: Date.now(),
    });
  }
}
