// The VirtualMachineService controller's wiring. A VIP released by either kind (a Service of type
// LoadBalancer too) wakes the services still waiting for one; an exhausted pool is retried anyway.
import { VirtualMachineServiceResource } from "../../api/vmoperator/virtualmachineservice.ts";
import type { Manager } from "../../runtime/manager.ts";
import { Services } from "../../runtime/resource.ts";
import type { IpPool } from "../../shared/ipam.ts";
import { VIP_WORKERS, vipChanged, waitingForVip } from "../../shared/vips.ts";
import { VirtualMachineServiceReconciler } from "./reconciler.ts";

export function setupVirtualMachineServiceController(mgr: Manager, vips: IpPool): void {
  const vmServices = mgr.informer(VirtualMachineServiceResource);
  mgr
    .controller("virtualmachineservice")
    .for(VirtualMachineServiceResource)
    .watches(VirtualMachineServiceResource, waitingForVip(vmServices.store), vipChanged)
    .watches(Services, waitingForVip(vmServices.store), vipChanged)
    // Allocations are safe side by side: the pool decides synchronously (no await between reading
    // what is used and taking an address) and remembers what it handed out until a status shows it.
    // One at a time made every TKC wait behind the others' status writes (bench tkc: 8 s queue wait).
    .withOptions({ maxConcurrentReconciles: VIP_WORKERS })
    .complete(new VirtualMachineServiceReconciler(mgr.client, vmServices.store, vips, mgr.events));
}
