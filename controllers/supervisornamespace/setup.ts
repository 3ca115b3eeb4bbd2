// Wiring of the SupervisorNamespace controller: the caches it reads, what wakes it.
import { MANAGED_BY_SELECTOR } from "../api/contracts.ts";
import {
  VirtualMachineClassResource,
  type VirtualMachineClassSpec,
} from "../api/vmoperator/virtualmachineclass.ts";
import { type StorageClassBinding, StorageClassBindingResource } from "../api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import { VSpherePodResource } from "../api/vsphere/vspherepod.ts";
import { anyChange } from "../runtime/controller.ts";
import type { Manager } from "../runtime/manager.ts";
import {
  LimitRanges,
  Namespaces,
  NetworkPolicies,
  ResourceQuotas,
  type ResourceType,
  RoleBindings,
} from "../runtime/resource.ts";
import { byControllerUid } from "../runtime/store.ts";
import { defaultCatalogue } from "../shared/vmclasses.ts";
import { type Caches, OWNER_INDEX, SupervisorNamespaceReconciler } from "./reconciler.ts";

/**
 * How late a child's event wakes its SupervisorNamespace. A new namespace's children change in a
 * burst: the echoes of the 8 objects its first reconcile made, kube-controller-manager's first quota
 * status (the usage), and its StorageClassBindings turning Bound (the class list and the Namespace's
 * annotation); each woke its own reconcile, and the status was written 2.4–2.7 times per namespace
 * in bench namespaces. Its own events (spec, deletion) are not delayed.
 */
export const CHILD_DELAY_MS = 250;

export function setupSupervisorNamespaceController(
  mgr: Manager,
  catalogue: Record<string, VirtualMachineClassSpec> = defaultCatalogue,
  vmOperatorInstalled = true,
  workloads: ResourceType[] = [VSpherePodResource],
): void {
  // RoleBindings, NetworkPolicies and VM classes are many in a cluster: only Pacific's are cached.
  const managed = { labelSelector: MANAGED_BY_SELECTOR };
  const roleBindings = mgr.informer(RoleBindings, managed);
  roleBindings.addIndex(OWNER_INDEX, byControllerUid);
  const vmClasses = vmOperatorInstalled ? mgr.informer(VirtualMachineClassResource, managed) : undefined;
  vmClasses?.addIndex(OWNER_INDEX, byControllerUid);
  const c: Caches = {
    svns: mgr.informer(SupervisorNamespaceResource).store,
    bindings: mgr.informer(StorageClassBindingResource).store,
    namespaces: mgr.informer(Namespaces).store,
    quotas: mgr.informer(ResourceQuotas).store,
    limitRanges: mgr.informer(LimitRanges).store,
    roleBindings: roleBindings.store,
    networkPolicies: mgr.informer(NetworkPolicies, managed).store,
    vmClasses: vmClasses?.store,
    workloads,
  };
  const b = mgr
    .controller("supervisornamespace")
    .for(SupervisorNamespaceResource)
    // Hand edits and deletions of what it owns bring it back (every change, not just spec); the
    // children's events come CHILD_DELAY_MS late so that a burst is one reconcile and one status write.
    .owns(Namespaces, { predicate: anyChange, delayMs: CHILD_DELAY_MS })
    .owns(ResourceQuotas, { predicate: anyChange, delayMs: CHILD_DELAY_MS })
    .owns(LimitRanges, { predicate: anyChange, delayMs: CHILD_DELAY_MS })
    .owns(RoleBindings, { predicate: anyChange, informer: managed, delayMs: CHILD_DELAY_MS })
    .owns(NetworkPolicies, { predicate: anyChange, informer: managed, delayMs: CHILD_DELAY_MS })
    .watches(StorageClassBindingResource, (sb) => bindingRequests(sb as StorageClassBinding), {
      predicate: anyChange,
      delayMs: CHILD_DELAY_MS,
    })
    .withOptions({ maxConcurrentReconciles: 16 });
  if (vmOperatorInstalled)
    b.owns(VirtualMachineClassResource, { predicate: anyChange, informer: managed, delayMs: CHILD_DELAY_MS });
  b.complete(new SupervisorNamespaceReconciler(mgr.client, c, mgr.events, catalogue));
}

/** A StorageClassBinding wakes the SupervisorNamespace it binds a class to. */
function bindingRequests(sb: StorageClassBinding) {
  return sb.spec?.namespace ? [{ name: sb.spec.namespace }] : [];
}
