// Wiring of the StorageClassBinding controller: the caches it reads, what wakes it.
import {
  type StorageClassBinding,
  StorageClassBindingResource,
} from "../../api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../api/vsphere/supervisornamespace.ts";
import { anyChange, type Request } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { deepEqual } from "../../runtime/patch.ts";
import { Namespaces, ResourceQuotas, StorageClasses } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import { StorageClassBindingReconciler } from "./reconciler.ts";

export function setupStorageClassBindingController(mgr: Manager): void {
  const bindings = mgr.informer(StorageClassBindingResource).store;
  mgr
    .controller("storageclassbinding")
    .for(StorageClassBindingResource)
    .owns(ResourceQuotas, { predicate: anyChange })
    .watches(
      SupervisorNamespaceResource,
      (s) => bindingsWhere(bindings, (b) => b.spec.namespace === s.metadata?.name),
      { predicate: anyChange },
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
