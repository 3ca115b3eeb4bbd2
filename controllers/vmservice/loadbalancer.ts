// The Network Service's load balancer: VirtualMachineServices and Services of type LoadBalancer in
// Supervisor Namespaces get a VIP from one pool, in status.loadBalancer.ingress. The addresses in
// use are read from those statuses (a restart recomputes them); the lowest free one is handed out,
// so a released VIP is the first reused. An exhausted pool is a condition (VirtualMachineService),
// an event, and the pacific_vip_pool_* gauges.
import type { V1Namespace } from "@kubernetes/client-node";
import { Gauge } from "prom-client";
import { VirtualMachineServiceResource } from "../api/vmoperator/virtualmachineservice.ts";
import type { IpPool } from "../network/ipam.ts";
import type { KubeClient, KubeObject } from "../runtime/client.ts";
import { type Condition, setConditions } from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Manager } from "../runtime/manager.ts";
import { Services } from "../runtime/resource.ts";

const EXHAUSTED_RETRY_MS = 30_000;
/** Namespaces Pacific made for Supervisor Namespaces carry this label. */
const SUPERVISOR_NAMESPACE_LABEL = "vsphere.pacific.dev/supervisor-namespace";

type LoadBalanced = KubeObject & {
  spec?: { type?: string; loadBalancerIP?: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> }; conditions?: Condition[] };
};

/** Every VIP in use, from both kinds' statuses. */
export function vipsInUse(...informers: Array<Informer<LoadBalanced>>): () => string[] {
  return () =>
    informers.flatMap((inf) =>
      inf.store.list().flatMap((o) => (o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "")),
    );
}

const vipOf = (o: LoadBalanced) => o.status?.loadBalancer?.ingress?.[0]?.ip;

export class LoadBalancerReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly kind: "VirtualMachineService" | "Service",
    private readonly objects: Informer<LoadBalanced>,
    private readonly namespaces: Informer<V1Namespace>,
    private readonly pool: IpPool,
    private readonly events: EventRecorder,
  ) {}

  async reconcile(req: Request): Promise<Result | undefined> {
    const key = `${req.namespace}/${req.name}`;
    const o = this.objects.store.get(key);
    const rt = this.kind === "Service" ? Services : VirtualMachineServiceResource;
    if (!o || o.metadata?.deletionTimestamp) {
      this.pool.release(key);
      return undefined;
    }
    if (this.kind === "Service") {
      const ns = this.namespaces.store.get(req.namespace!);
      if (!ns?.metadata?.labels?.[SUPERVISOR_NAMESPACE_LABEL]) return undefined; // not ours to serve
    }
    const current = o.status?.loadBalancer?.ingress?.[0]?.ip;
    const wantVip = o.spec?.type === "LoadBalancer";
    if (!wantVip) {
      this.pool.release(key);
      if (current) await this.writeStatus(rt, o, [], undefined);
      return undefined;
    }
    if (current && this.pool.contains(current)) return this.writeStatus(rt, o, [{ ip: current }], "ok");

    const asked = o.spec?.loadBalancerIP;
    const ip = asked ? this.claim(asked, key) : this.pool.allocate(key);
    if (!ip) {
      const { used, size } = this.pool.usage();
      const message = asked
        ? this.pool.contains(asked)
          ? `loadBalancerIP ${asked} is held by another Service or VirtualMachineService`
          : `loadBalancerIP ${asked} is outside the VIP pool ${this.pool.name}`
        : `the VIP pool ${this.pool.name} has no free address (${used} of ${size} in use)`;
      this.events.event(o, "Warning", "VIPPoolExhausted", "AllocateVIP", message);
      await this.writeStatus(rt, o, [], message);
      return { requeueAfter: EXHAUSTED_RETRY_MS };
    }
    try {
      return await this.writeStatus(rt, o, [{ ip }], "ok");
    } catch (e) {
      this.pool.release(key);
      throw e;
    }
  }

  /**
   * A specific address, if it is in the pool and nobody holds it: a VIP has one holder across
   * Services and VirtualMachineServices (issue 19, finding 6), so the pool decides, not this kind's cache.
   */
  private claim(ip: string, key: string): string | undefined {
    return this.pool.claim(key, ip);
  }

  private async writeStatus(
    rt: typeof Services,
    o: LoadBalanced,
    ingress: Array<{ ip: string }>,
    outcome: "ok" | string | undefined,
  ): Promise<undefined> {
    const status: Record<string, unknown> = { loadBalancer: { ingress } };
    if (this.kind === "VirtualMachineService" && outcome !== undefined) {
      status.conditions = setConditions(o.status?.conditions, [
        outcome === "ok"
          ? { type: "Ready", status: "True", reason: "VIPAllocated", message: `VIP ${ingress[0]?.ip}` }
          : { type: "Ready", status: "False", reason: "VIPPoolExhausted", message: outcome },
      ]);
    }
    const same =
      JSON.stringify(o.status?.loadBalancer?.ingress ?? []) === JSON.stringify(ingress) &&
      (status.conditions === undefined ||
        JSON.stringify(status.conditions) === JSON.stringify(o.status?.conditions));
    if (!same)
      await this.client.patch(
        rt,
        o.metadata!.name!,
        o.metadata!.namespace,
        { status },
        { subresource: "status" },
      );
    return undefined;
  }
}

export function setupLoadBalancer(
  mgr: Manager,
  pool: IpPool,
  vmServices: Informer<LoadBalanced>,
  services: Informer<LoadBalanced>,
  namespaces: Informer<V1Namespace>,
): void {
  // A VIP released by either kind wakes whoever waits for one (an exhausted pool is retried anyway).
  const starving = (inf: Informer<LoadBalanced>) => () =>
    inf.store
      .list()
      .filter((o) => o.spec?.type === "LoadBalancer" && !o.status?.loadBalancer?.ingress?.length)
      .map((o) => ({ namespace: o.metadata?.namespace, name: o.metadata!.name! }));
  const released = { predicate: (o: LoadBalanced, n: LoadBalanced) => vipOf(o) !== vipOf(n) };
  mgr
    .controller("virtualmachineservice")
    .for(VirtualMachineServiceResource)
    .watches(VirtualMachineServiceResource, starving(vmServices), released)
    .watches(Services, starving(vmServices), released)
    .withOptions({ maxConcurrentReconciles: 1 }) // one allocation at a time: the lowest free VIP is well defined
    .complete(
      new LoadBalancerReconciler(
        mgr.client,
        "VirtualMachineService",
        vmServices,
        namespaces,
        pool,
        mgr.events,
      ),
    );
  mgr
    .controller("loadbalancer-service")
    .for(Services, { predicate: anyChange })
    .watches(Services, starving(services), released)
    .watches(VirtualMachineServiceResource, starving(services), released)
    .withOptions({ maxConcurrentReconciles: 1 })
    .complete(new LoadBalancerReconciler(mgr.client, "Service", services, namespaces, pool, mgr.events));
  const used = new Gauge({
    name: "pacific_vip_pool_used_addresses",
    help: "VIPs of the load balancer pool in use",
    registers: [mgr.metrics.registry],
    collect() {
      const u = pool.usage();
      used.set(u.used);
      size.set(u.size);
    },
  });
  const size = new Gauge({
    name: "pacific_vip_pool_size_addresses",
    help: "Addresses in the load balancer's VIP pool",
    registers: [mgr.metrics.registry],
  });
}
