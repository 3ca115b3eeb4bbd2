// The VM Service's wiring: informers and indexes, the VMs as a reservation source of the shared
// inventory, the workload network and the VIP pool, and the two controllers.
import { VirtualMachineResource } from "../api/vmoperator/virtualmachine.ts";
import { VirtualMachineClassResource } from "../api/vmoperator/virtualmachineclass.ts";
import { VirtualMachineServiceResource } from "../api/vmoperator/virtualmachineservice.ts";
import { SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import type { Manager } from "../runtime/manager.ts";
import { Namespaces, ResourceQuotas, type ResourceType, Services } from "../runtime/resource.ts";
import { byNamespace } from "../runtime/store.ts";
import type { SimulationSettings } from "../settings.ts";
import { IpPool } from "../shared/ipam.ts";
import type { Inventory } from "../shared/placement/inventory.ts";
import {
  HOST_INDEX,
  NS_INDEX,
  setupVirtualMachineController,
  type VMCaches,
  vmReservations,
} from "./controller.ts";
import { type LoadBalanced, setupLoadBalancer, vipsInUse } from "./loadbalancer.ts";

export function setupVMService(mgr: Manager, inv: Inventory, settings: SimulationSettings): void {
  const c: VMCaches = {
    vms: mgr.informer(VirtualMachineResource),
    classes: mgr.informer(VirtualMachineClassResource),
    namespaces: mgr.informer(Namespaces),
    svns: mgr.informer(SupervisorNamespaceResource),
    quotas: mgr.informer(ResourceQuotas),
  };
  c.vms.addIndex(HOST_INDEX, (vm) => (vm.status?.host ? [vm.status.host] : []));
  c.vms.addIndex(NS_INDEX, byNamespace);
  // A placement stops being an assumption once the cache shows the VM on its host.
  c.vms.addHandler({
    update: (_o, n) => {
      if (n.status?.host) inv.forget(`vm/${n.metadata.namespace}/${n.metadata.name}`);
    },
  });
  inv.addReservationSource(vmReservations(c));
  const vmIps = new IpPool("vm-network", settings.vmNetwork, () =>
    c.vms.store.list().map((v) => v.status?.network?.primaryIP4 ?? ""),
  );
  setupVirtualMachineController(mgr, inv, settings, vmIps, c);

  // One reconciler serves both kinds through the fields they share.
  const vmServices = mgr.informer(VirtualMachineServiceResource as ResourceType<LoadBalanced>);
  const services = mgr.informer(Services as ResourceType<LoadBalanced>);
  const vips = new IpPool(settings.vipPool, settings.vipPool, vipsInUse(vmServices, services));
  setupLoadBalancer(mgr, vips, vmServices, services, c.namespaces);
}
