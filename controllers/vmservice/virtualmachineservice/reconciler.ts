// The VirtualMachineService controller: a VirtualMachineService of type LoadBalancer gets a VIP from
// the load balancer's pool (shared/vips.ts decides and writes it) and a Ready condition that says
// which, or why there is none.
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../api/vmoperator/virtualmachineservice.ts";
import type { Client } from "../../runtime/client.ts";
import { markFalse, markTrue } from "../../runtime/conditions.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { Store } from "../../runtime/store.ts";
import type { IpPool } from "../../shared/ipam.ts";
import { reconcileVip, type VipDecision, type VipTarget } from "../../shared/vips.ts";

/** Ready says which VIP the service has, or why it has none (nothing is said of a ClusterIP service). */
export function describeVip(o: VirtualMachineService, d: VipDecision): void {
  if (d.kind === "keep" || d.kind === "allocated") markTrue(o, "Ready", "VIPAllocated", `VIP ${d.ip}`);
  else if (d.kind === "refused") markFalse(o, "Ready", "VIPPoolExhausted", d.message);
}

export class VirtualMachineServiceReconciler implements Reconciler {
  private readonly target: VipTarget<VirtualMachineService>;

  constructor(
    private readonly client: Client,
    store: Store<VirtualMachineService>,
    private readonly pool: IpPool,
    private readonly events: Pick<EventRecorder, "event">,
  ) {
    this.target = { resource: VirtualMachineServiceResource, store, describe: describeVip };
  }

  reconcile(req: Request): Promise<Result | undefined> {
    return reconcileVip(this.client, this.pool, this.events, this.target, req);
  }
}
