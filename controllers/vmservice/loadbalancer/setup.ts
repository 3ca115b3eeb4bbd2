// The Service load balancer's wiring. Every Service change is seen (the type may flip to
// LoadBalancer in a status-free update); a VIP released by either kind wakes the Services waiting.
import { VirtualMachineServiceResource } from "../../api/vmoperator/virtualmachineservice.ts";
import { anyChange } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { Namespaces, Services } from "../../runtime/resource.ts";
import type { IpPool } from "../../shared/ipam.ts";
import { VIP_WORKERS, vipChanged, waitingForVip } from "../../shared/vips.ts";
import { LoadBalancerReconciler } from "./reconciler.ts";

export function setupLoadBalancerController(mgr: Manager, vips: IpPool): void {
  const services = mgr.informer(Services);
  const namespaces = mgr.informer(Namespaces);
  const vmServices = mgr.informer(VirtualMachineServiceResource);
  mgr
    .controller("loadbalancer-service")
    .for(Services, { predicate: anyChange })
    .watches(Services, waitingForVip(services.store), vipChanged)
    .watches(VirtualMachineServiceResource, waitingForVip(services.store), vipChanged)
    .withOptions({ maxConcurrentReconciles: VIP_WORKERS }) // side by side, as the VirtualMachineService controller
    .complete(
      new LoadBalancerReconciler(
        mgr.client,
        services.store,
        namespaces.store,
        vips,
        mgr.events,
        vmServices.store,
      ),
    );
}
