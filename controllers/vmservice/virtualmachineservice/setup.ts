// The VirtualMachineService controller's wiring. A VIP released by either kind (a Service of type
// LoadBalancer too) wakes the services still waiting for one; an exhausted pool is retried anyway.
import { VirtualMachineServiceResource } from "../../api/vmoperator/virtualmachineservice.ts";
import type { Manager } from "../../runtime/manager.ts";
import { Services } from "../../runtime/resource.ts";
import type { IpPool } from "../../shared/ipam.ts";
import { vipChanged, waitingForVip } from "../../shared/vips.ts";
import { VirtualMachineServiceReconciler } from "./reconciler.ts";

export function setupVirtualMachineServiceController(mgr: Manager, vips: IpPool): void {
  const vmServices = mgr.informer(VirtualMachineServiceResource);
  mgr
    .controller("virtualmachineservice")
    .for(VirtualMachineServiceResource)
    .watches(VirtualMachineServiceResource, waitingForVip(vmServices.store), vipChanged)
    .watches(Services, waitingForVip(vmServices.store), vipChanged)
    .withOptions({ maxConcurrentReconciles: 1 }) // one allocation at a time: the lowest free VIP is well defined
    .complete(new VirtualMachineServiceReconciler(mgr.client, vmServices.store, vips, mgr.events));
}
