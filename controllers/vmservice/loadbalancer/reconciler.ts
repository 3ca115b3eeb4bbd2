// The Service load balancer: a core Service of type LoadBalancer in a Supervisor Namespace gets a
// VIP from the same pool as VirtualMachineServices (shared/vips.ts decides and writes it). Services
// elsewhere are left to whatever load balancer the cluster has.
import type { V1Namespace, V1Service } from "@kubernetes/client-node";
import { SUPERVISOR_NAMESPACE_LABEL } from "../../api/contracts.ts";
import type { Client } from "../../runtime/client.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import { Services } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import type { IpPool } from "../../shared/ipam.ts";
import { reconcileVip, type VipTarget } from "../../shared/vips.ts";

export class LoadBalancerReconciler implements Reconciler {
  private readonly target: VipTarget<V1Service>;

  constructor(
    private readonly client: Client,
    services: Store<V1Service>,
    namespaces: Store<V1Namespace>,
    private readonly pool: IpPool,
    private readonly events: Pick<EventRecorder, "event">,
  ) {
    this.target = {
      resource: Services,
      store: services,
      serves: (s) => !!namespaces.get(s.metadata?.namespace)?.metadata?.labels?.[SUPERVISOR_NAMESPACE_LABEL],
    };
  }

  reconcile(req: Request): Promise<Result | undefined> {
    return reconcileVip(this.client, this.pool, this.events, this.target, req);
  }
}
