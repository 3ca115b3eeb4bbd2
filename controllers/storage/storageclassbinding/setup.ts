// Wiring of the StorageClassBinding controller: the caches it reads, what wakes it.
import {
  type StorageClassBinding,
  StorageClassBindingResource,
} from "../../api/vsphere/storageclassbinding.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceResource,
} from "../../api/vsphere/supervisornamespace.ts";
import { anyChange, changedIn, type Request } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { deepEqual } from "../../runtime/patch.ts";
import { Namespaces, ResourceQuotas, StorageClasses } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import { StorageClassBindingReconciler } from "./reconciler.ts";

/** How late an owned quota's event wakes its binding. */
export const QUOTA_DELAY_MS = 250;

export function setupStorageClassBindingController(mgr: Manager): void {
  const bindings = mgr.informer(StorageClassBindingResource).store;
  mgr
    .controller("storageclassbinding")
    .for(StorageClassBindingResource)
    // Its quota's events come late (QUOTA_DELAY_MS): the first is the echo of its own create, which
    // otherwise woke a reconcile before the binding's status write was back in the cache (a
    // duplicate status patch, or a second create refused as AlreadyExists).
    .owns(ResourceQuotas, { predicate: anyChange, delayMs: QUOTA_DELAY_MS })
    // Of the Supervisor Namespace it reads the spec, the deletion and whether it is configured, not
    // the usage and classes the SupervisorNamespace controller writes.
    .watches(
      SupervisorNamespaceResource,
      (s) => bindingsWhere(bindings, (b) => b.spec.namespace === s.metadata?.name),
      { predicate: changedIn((s) => (s as SupervisorNamespace).status?.configStatus) },
    )
    // The Namespace appearing: its bindings can bind now (without waiting for the SupervisorNamespace's status).
    // Only what the binding reads of it (being deleted, whose it is), not the annotations Pacific writes.
    .watches(Namespaces, (ns) => bindingsWhere(bindings, (b) => b.spec.namespace === ns.metadata?.name), {
      predicate: (o, n) =>
        o.metadata?.deletionTimestamp !== n.metadata?.deletionTimestamp ||
        !deepEqual(o.metadata?.ownerReferences, n.metadata?.ownerReferences),
    })
    .watches(StorageClasses, (sc) =>
      bindingsWhere(bindings, (b) => b.spec.storageClass === sc.metadata?.name),
    )
    .withOptions({ maxConcurrentReconciles: 16 })
    .complete(
      new StorageClassBindingReconciler(
        mgr.client,
        {
          bindings,
          svns: mgr.informer(SupervisorNamespaceResource).store,
          classes: mgr.informer(StorageClasses).store,
          quotas: mgr.informer(ResourceQuotas).store,
          namespaces: mgr.informer(Namespaces).store,
        },
        mgr.events,
      ),
    );
}

/** The bindings that `match` (a Supervisor Namespace or a StorageClass changed: those it concerns). */
function bindingsWhere(
  bindings: Store<StorageClassBinding>,
  match: (b: StorageClassBinding) => boolean,
): Request[] {
  return bindings
    .list()
    .filter(match)
    .map((b) => ({ name: b.metadata.name ?? "" }));
}
