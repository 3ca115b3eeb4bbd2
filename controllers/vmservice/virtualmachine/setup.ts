// The VirtualMachine controller's wiring: informers and indexes, the VMs as a reservation source of
// the shared inventory, the workload network's address pool, and what wakes a VM: a class or
// storage binding appearing, limits raised, a host failing or entering maintenance, capacity freed.

import type { VirtualMachine } from "../../api/vmoperator/virtualmachine.ts";
import { VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import { VirtualMachineClassResource } from "../../api/vmoperator/virtualmachineclass.ts";
import { ESXiHostResource } from "../../api/vsphere/esxihost.ts";
import { SupervisorNamespaceResource } from "../../api/vsphere/supervisornamespace.ts";
import { anyChange, type Request } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { Namespaces, Nodes, ResourceQuotas } from "../../runtime/resource.ts";
import { byNamespace, type Store } from "../../runtime/store.ts";
import type { SimulationSettings } from "../../settings.ts";
import { IpPool } from "../../shared/ipam.ts";
import { ESXI_NODES, type Inventory, nodeChanged } from "../../shared/placement/inventory.ts";
import { HOST_INDEX, NS_INDEX, type VMCaches, vmAssumeKey } from "./capacity.ts";
import { VirtualMachineReconciler } from "./reconciler.ts";
import { vmReservations } from "./reservations.ts";

/** Before the ESXi host controller: it watches what the VMs reserve on hosts. */
export function setupVirtualMachineController(
  mgr: Manager,
  inv: Inventory,
  settings: SimulationSettings,
): void {
  const vms = mgr.informer(VirtualMachineResource);
  vms.addIndex(HOST_INDEX, (vm) => (vm.status?.host ? [vm.status.host] : []));
  vms.addIndex(NS_INDEX, byNamespace);
  // A placement stops being an assumption once the cache shows the VM on its host.
  vms.addHandler({
    update: (_o, n) => {
      if (n.status?.host) inv.forget(vmAssumeKey(n.metadata.namespace, n.metadata.name ?? ""));
    },
  });
  const c: VMCaches = {
    vms: vms.store,
    classes: mgr.informer(VirtualMachineClassResource).store,
    namespaces: mgr.informer(Namespaces).store,
    svns: mgr.informer(SupervisorNamespaceResource).store,
    quotas: mgr.informer(ResourceQuotas).store,
  };
  inv.addReservationSource(vmReservations(c));
  const ips = new IpPool("vm-network", settings.vmNetwork, () =>
    c.vms.list().map((v) => v.status?.network?.primaryIP4 ?? ""),
  );
  const byNs = (ns: string | undefined) => (ns ? requests(c.vms.byIndex(NS_INDEX, ns)) : []);
  const onHost = (host: string | undefined) => (host ? requests(c.vms.byIndex(HOST_INDEX, host)) : []);
  mgr
    .controller("virtualmachine")
    .for(VirtualMachineResource)
    .watches(VirtualMachineClassResource, (o) => byNs(o.metadata?.namespace), { predicate: anyChange })
    .watches(Namespaces, (o) => byNs(o.metadata?.name))
    .watches(SupervisorNamespaceResource, (o) => byNs(o.metadata?.name))
    .watches(ESXiHostResource, (o) => [...onHost(o.metadata?.name), ...unplaced(c.vms)])
    .watches(Nodes, (o) => onHost(o.metadata?.name), { informer: ESXI_NODES, predicate: nodeChanged })
    .withOptions({ maxConcurrentReconciles: 16 })
    .complete(new VirtualMachineReconciler(mgr.client, inv, c, mgr.events, settings, ips));
}

const requests = (vms: VirtualMachine[]): Request[] =>
  vms.map((v) => ({ namespace: v.metadata.namespace, name: v.metadata.name ?? "" }));

/** VMs waiting for a host: a host change may make room. */
function unplaced(vms: Store<VirtualMachine>): Request[] {
  return requests(vms.list().filter((v) => !v.status?.host));
}
