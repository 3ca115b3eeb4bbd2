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
    // Hand edits and deletions of what it owns bring it back (every change, not just spec).
    .owns(Namespaces, { predicate: anyChange })
    .owns(ResourceQuotas, { predicate: anyChange })
    .owns(LimitRanges, { predicate: anyChange })
    .owns(RoleBindings, { predicate: anyChange, informer: managed })
    .owns(NetworkPolicies, { predicate: anyChange, informer: managed })
    .watches(StorageClassBindingResource, (sb) => bindingRequests(sb as StorageClassBinding), {
      predicate: anyChange,
    })
    .withOptions({ maxConcurrentReconciles: 16 });
  if (vmOperatorInstalled) b.owns(VirtualMachineClassResource, { predicate: anyChange, informer: managed });
  b.complete(new SupervisorNamespaceReconciler(mgr.client, c, mgr.events, catalogue));
}

/** A StorageClassBinding wakes the SupervisorNamespace it binds a class to. */
function bindingRequests(sb: StorageClassBinding) {
  return sb.spec?.namespace ? [{ name: sb.spec.namespace }] : [];
}
