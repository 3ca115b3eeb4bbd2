// The Service load balancer: a core Service of type LoadBalancer in a Supervisor Namespace gets a
// VIP from the same pool as VirtualMachineServices (shared/vips.ts decides and writes it). Services
// elsewhere are left to whatever load balancer the cluster has. A VIP has one holder, except that a
// Service asking for the VIP of a VirtualMachineService with the same controller (a Cluster's
// control-plane VirtualMachineService, and the Service of its hosted control plane with the guest-
// cluster runtime `pods`: docs/guest-clusters.md) gets it too.
import type { V1Namespace, V1Service } from "@kubernetes/client-node";
import { SUPERVISOR_NAMESPACE_LABEL } from "../../api/contracts.ts";
import type { VirtualMachineService } from "../../api/vmoperator/virtualmachineservice.ts";
import type { Client, KubeObject } from "../../runtime/client.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import { Services } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import type { IpPool } from "../../shared/ipam.ts";
import { reconcileVip, type VipTarget, vipOf } from "../../shared/vips.ts";

/** The uid of an object's controller owner, if any. */
const controllerUid = (o: KubeObject) => o.metadata?.ownerReferences?.find((r) => r.controller)?.uid;

/** `ip` is the VIP of a VirtualMachineService in `s`'s namespace with `s`'s controller. */
export function sharesClusterVip(s: V1Service, ip: string, vmServices: VirtualMachineService[]): boolean {
  const owner = controllerUid(s);
  return (
    !!owner &&
    vmServices.some(
      (v) => v.metadata?.namespace === s.metadata?.namespace && vipOf(v) === ip && controllerUid(v) === owner,
    )
  );
}

export class LoadBalancerReconciler implements Reconciler {
  private readonly target: VipTarget<V1Service>;

  constructor(
    private readonly client: Client,
    services: Store<V1Service>,
    namespaces: Store<V1Namespace>,
    private readonly pool: IpPool,
    private readonly events: Pick<EventRecorder, "event">,
    vmServices?: Store<VirtualMachineService>,
  ) {
    this.target = {
      resource: Services,
      store: services,
      serves: (s) => !!namespaces.get(s.metadata?.namespace)?.metadata?.labels?.[SUPERVISOR_NAMESPACE_LABEL],
      sharesVip: (s, ip) => sharesClusterVip(s, ip, vmServices?.list() ?? []),
    };
  }

  reconcile(req: Request): Promise<Result | undefined> {
    return reconcileVip(this.client, this.pool, this.events, this.target, req);
  }
}
