// The load balancer's VIPs (the Network Service), shared by the two controllers that hand them out:
// VirtualMachineServices (vmservice/virtualmachineservice/) and Services of type LoadBalancer in
// Supervisor Namespaces (vmservice/loadbalancer/) draw from one pool and write the address to
// status.loadBalancer.ingress. The addresses in use are read from both kinds' statuses (a restart
// recomputes them); the lowest free one is handed out, so a released VIP is the first reused. An
// exhausted pool is an event, a requeue, and the pacific_vip_pool_* gauges.
import { Gauge } from "prom-client";
import { VirtualMachineServiceResource } from "../api/vmoperator/virtualmachineservice.ts";
import type { Client, KubeObject } from "../runtime/client.ts";
import type { Request, Result } from "../runtime/controller.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Manager } from "../runtime/manager.ts";
import { deepEqual } from "../runtime/patch.ts";
import { PatchHelper } from "../runtime/patchhelper.ts";
import { keyFor, keyOf, type ResourceType, Services } from "../runtime/resource.ts";
import type { Store } from "../runtime/store.ts";
import { IpPool } from "./ipam.ts";

export const EXHAUSTED_RETRY_MS = 30_000;
/**
 * Workers of each VIP controller. The pool's decision is synchronous (IpPool: what is used is read
 * and an address taken with no await between), so parallel reconciles never hand out one address
 * twice; the status write they wait on is what runs side by side.
 */
export const VIP_WORKERS = 8;

/** What the two kinds share: a type, an asked-for address and the ingress list. */
export interface LoadBalanced extends KubeObject {
  spec?: { type?: string; loadBalancerIP?: string };
  status?: { loadBalancer?: { ingress?: Array<{ ip?: string }> } };
}

/** What is read of a cache: its objects. */
export interface Listing {
  list(): LoadBalanced[];
}

export const vipOf = (o: LoadBalanced): string | undefined => o.status?.loadBalancer?.ingress?.[0]?.ip;

/** The VIP pool over the addresses in both kinds' statuses, with its gauges. One per manager. */
export function newVipPool(mgr: Manager, pool: string): IpPool {
  const stores: Listing[] = [mgr.informer(VirtualMachineServiceResource).store, mgr.informer(Services).store];
  const ips = new IpPool(pool, pool, () =>
    stores.flatMap((s) =>
      s.list().flatMap((o) => (o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "")),
    ),
  );
  registerVipPoolMetrics(mgr, ips);
  return ips;
}

function registerVipPoolMetrics(mgr: Manager, pool: IpPool): void {
  const size = new Gauge({
    name: "pacific_vip_pool_size_addresses",
    help: "Addresses in the load balancer's VIP pool",
    registers: [mgr.metrics.registry],
  });
  const used: Gauge = new Gauge({
    name: "pacific_vip_pool_used_addresses",
    help: "VIPs of the load balancer pool in use",
    registers: [mgr.metrics.registry],
    collect() {
      const u = pool.usage();
      used.set(u.used);
      size.set(u.size);
    },
  });
}

export type VipDecision =
  /** Not of type LoadBalancer: no VIP (a pending one is released). */
  | { kind: "none" }
  /** Its VIP, still an address of the pool. */
  | { kind: "keep"; ip: string }
  /** A new address (pending in the pool until a status shows it). */
  | { kind: "allocated"; ip: string }
  /** No address: the pool is exhausted, or the asked-for one is not free. */
  | { kind: "refused"; message: string };

/**
 * Which VIP `o` gets. An asked-for address is claimed through the pool, which sees both kinds'
 * statuses: a VIP has one holder across Services and VirtualMachineServices (issue 19, finding 6) —
 * unless `shares(ip)` says the holder is `o`'s own kin (the guest-cluster pods runtime's Service on
 * its Cluster's control-plane VIP: VipTarget.sharesVip).
 */
export function decideVip(pool: IpPool, o: LoadBalanced, shares?: (ip: string) => boolean): VipDecision {
  const key = keyOf(o.metadata);
  if (o.spec?.type !== "LoadBalancer") {
    pool.release(key);
    return { kind: "none" };
  }
  const current = vipOf(o);
  if (current && pool.contains(current)) return { kind: "keep", ip: current };
  const asked = o.spec.loadBalancerIP;
  if (asked && pool.contains(asked) && shares?.(asked)) return { kind: "keep", ip: asked };
  const ip = asked ? pool.claim(key, asked) : pool.allocate(key);
  if (ip) return { kind: "allocated", ip };
  const { used, size } = pool.usage();
  const message = asked
    ? pool.contains(asked)
      ? `loadBalancerIP ${asked} is held by another Service or VirtualMachineService`
      : `loadBalancerIP ${asked} is outside the VIP pool ${pool.name}`
    : `the VIP pool ${pool.name} has no free address (${used} of ${size} in use)`;
  return { kind: "refused", message };
}

/** Sets status.loadBalancer.ingress on a working copy as `d` says (untouched when it already is). */
export function applyVip(o: LoadBalanced, d: VipDecision): void {
  if (d.kind === "none" && !vipOf(o)) return;
  const ingress = d.kind === "keep" || d.kind === "allocated" ? [{ ip: d.ip }] : [];
  if (deepEqual(o.status?.loadBalancer?.ingress ?? [], ingress)) return;
  o.status = { ...o.status, loadBalancer: { ...o.status?.loadBalancer, ingress } };
}

/** What differs between the two kinds' controllers. */
export interface VipTarget<T extends LoadBalanced> {
  resource: ResourceType<T>;
  store: Store<T>;
  /** Whether Pacific serves this object at all (Services: only in Supervisor Namespaces). */
  serves?(o: T): boolean;
  /**
   * Whether `o` may have `ip` although another object holds it: one owner's two fronts of one
   * endpoint (a Cluster's VirtualMachineService and its hosted control plane's Service).
   */
  sharesVip?(o: T, ip: string): boolean;
  /** Kind-specific status on the working copy (the VirtualMachineService's Ready condition). */
  describe?(o: T, d: VipDecision): void;
}

/**
 * One reconcile of either kind: get from the cache → gone: release → decide → one status write.
 * A write that fails releases a freshly allocated address, so it is not held by nobody.
 */
export async function reconcileVip<T extends LoadBalanced>(
  client: Client,
  pool: IpPool,
  events: Pick<EventRecorder, "event">,
  target: VipTarget<T>,
  req: Request,
): Promise<Result | undefined> {
  const o = target.store.get(req.namespace, req.name);
  if (!o || o.metadata?.deletionTimestamp) {
    pool.release(keyFor(req.namespace, req.name));
    return undefined;
  }
  if (target.serves && !target.serves(o)) return undefined; // not ours to serve
  const d = decideVip(pool, o, target.sharesVip && ((ip) => target.sharesVip?.(o, ip) ?? false));
  if (d.kind === "refused") events.event(o, "Warning", "VIPPoolExhausted", "AllocateVIP", d.message);
  const h = new PatchHelper(client, target.resource, o);
  applyVip(h.obj, d);
  target.describe?.(h.obj, d);
  try {
    await h.patch();
  } catch (e) {
    if (d.kind === "allocated") pool.release(keyOf(o.metadata));
    throw e;
  }
  return d.kind === "refused" ? { requeueAfter: EXHAUSTED_RETRY_MS } : undefined;
}

/** Watch mapping: the objects of `store` waiting for a VIP (a released one may serve them). */
export function waitingForVip(store: Listing): () => Request[] {
  return () =>
    store
      .list()
      .filter((o) => o.spec?.type === "LoadBalancer" && !o.status?.loadBalancer?.ingress?.length)
      .map((o) => ({ namespace: o.metadata?.namespace, name: o.metadata?.name ?? "" }));
}

/** Watch predicate: an object's VIP changed (released, say). */
export const vipChanged = {
  predicate: (o: KubeObject, n: KubeObject): boolean => vipOf(o as LoadBalanced) !== vipOf(n as LoadBalanced),
};
