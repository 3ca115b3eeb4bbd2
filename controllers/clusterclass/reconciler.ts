// Publishes the ClusterClasses a Supervisor offers and keeps them as shipped: `tanzukubernetescluster`
// in every Supervisor Namespace (a child of the SupervisorNamespace) and the public classes of the
// vSphere Kubernetes Service in their namespace. A hand edit of a class's spec is put back; a deleted
// class is made again. Requests: { name } is a SupervisorNamespace; { namespace, name } a public class.
import type { V1Namespace } from "@kubernetes/client-node";
import { type ClusterClass, ClusterClassResource } from "../api/cluster/clusterclass.ts";
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";
import { ensureChild, replaceDiff } from "../runtime/children.ts";
import type { Client } from "../runtime/client.ts";
import type { Reconciler, Request, Result } from "../runtime/controller.ts";
import { apiStatus, isAlreadyExists, isNotFound } from "../runtime/errors.ts";
import type { Logger } from "../runtime/log.ts";
import { isControlledBy } from "../runtime/owner.ts";
import type { Store } from "../runtime/store.ts";
import { namespaceClass, publicClass } from "./desired.ts";

export interface Caches {
  svns: Store<SupervisorNamespace>;
  namespaces: Store<V1Namespace>;
  /** Pacific's ClusterClasses only (managed-by label). */
  classes: Store<ClusterClass>;
}

export interface Shipped {
  namespaceClasses: ClusterClass[];
  publicClasses: ClusterClass[];
}

/** spec exactly as shipped (fields added by hand removed), labels/annotations/owner overlaid. */
const specDiff = replaceDiff<ClusterClass>("spec");

export class ClusterClassReconciler implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly c: Caches,
    private readonly shipped: Shipped,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    if (req.namespace !== undefined) return this.reconcilePublic(req.namespace, req.name, log);
    const svns = this.c.svns.get(req.name);
    if (!svns || svns.metadata.deletionTimestamp) return undefined;
    // The namespace is the SupervisorNamespace controller's to make; its creation wakes us (owns).
    const ns = this.c.namespaces.get(req.name);
    if (!ns || ns.metadata?.deletionTimestamp || !isControlledBy(ns.metadata, svns.metadata.uid))
      return undefined;
    for (const t of this.shipped.namespaceClasses) {
      const want = namespaceClass(t, svns);
      await this.ensure(want, log);
    }
    return undefined;
  }

  private async reconcilePublic(namespace: string, name: string, log: Logger): Promise<Result | undefined> {
    const t = this.shipped.publicClasses.find(
      (c) => c.metadata.namespace === namespace && c.metadata.name === name,
    );
    if (!t) return undefined; // not one of ours (a class someone else labelled)
    if (!this.c.namespaces.get(namespace)) {
      log.info({ namespace }, "the public ClusterClass namespace does not exist yet (the chart makes it)");
      return { requeueAfter: 30_000 };
    }
    await this.ensure(publicClass(t), log);
    return undefined;
  }

  private async ensure(want: ClusterClass, log: Logger): Promise<void> {
    const { namespace, name } = want.metadata;
    const current = this.c.classes.get(namespace, name ?? "");
    try {
      const r = await ensureChild(this.client, ClusterClassResource, want, current, specDiff).catch(
        async (e: unknown) => {
          // Not in the cache but there: its managed-by label was taken off by hand. Taken back, not made again.
          if (current || !isAlreadyExists(e)) throw e;
          const live = await this.client.get(ClusterClassResource, name ?? "", namespace);
          return ensureChild(this.client, ClusterClassResource, want, live, specDiff);
        },
      );
      if (r !== "unchanged") log.info({ kind: "ClusterClass", namespace, name }, `ClusterClass ${r}`);
    } catch (e) {
      // A namespace being deleted refuses new objects (403 from the NamespaceLifecycle admission);
      // it is going, and so is its class.
      const s = apiStatus(e);
      if (isNotFound(e) || (s.code === 403 && /being terminated/.test(s.message))) return;
      throw e;
    }
  }
}
