// The VIP decision: keep, allocate the lowest free, honour an asked-for address, refuse when none is free.
import type { V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ApiError } from "../runtime/errors.ts";
import { Services } from "../runtime/resource.ts";
import { Store } from "../runtime/store.ts";
import { FakeClient } from "../runtime/testing/fakeclient.ts";
import { IpPool } from "./ipam.ts";
import { applyVip, decideVip, type LoadBalanced, reconcileVip, type VipTarget, vipOf } from "./vips.ts";

const svc = (name: string, o: { type?: string; ip?: string; asked?: string } = {}): V1Service => ({
  metadata: { name, namespace: "ns" },
  spec: { type: o.type ?? "LoadBalancer", ...(o.asked ? { loadBalancerIP: o.asked } : {}) },
  status: o.ip ? { loadBalancer: { ingress: [{ ip: o.ip }] } } : {},
});

function pool(...objs: V1Service[]) {
  const store = new Store<LoadBalanced>();
  for (const o of objs) store.set(o);
  const ips = new IpPool("vips", "192.168.128.10-192.168.128.12", () =>
    store.list().flatMap((o) => (o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "")),
  );
  return { ips, store };
}

describe("the VIP decision", () => {
  it("keeps a VIP of the pool, and gives a new object the lowest free address", () => {
    const a = svc("a", { ip: "192.168.128.11" });
    const { ips } = pool(a);
    expect(decideVip(ips, a)).toEqual({ kind: "keep", ip: "192.168.128.11" });
    expect(decideVip(ips, svc("b"))).toEqual({ kind: "allocated", ip: "192.168.128.10" });
    // Pending until a status shows it: the next one gets the next address, b asking again its own.
    expect(decideVip(ips, svc("c"))).toEqual({ kind: "allocated", ip: "192.168.128.12" });
    expect(decideVip(ips, svc("b"))).toEqual({ kind: "allocated", ip: "192.168.128.10" });
  });

  it("refuses when the pool is exhausted, saying how full it is", () => {
    const { ips } = pool(
      svc("a", { ip: "192.168.128.10" }),
      svc("b", { ip: "192.168.128.11" }),
      svc("c", { ip: "192.168.128.12" }),
    );
    expect(decideVip(ips, svc("d"))).toEqual({
      kind: "refused",
      message: "the VIP pool vips has no free address (3 of 3 in use)",
    });
  });

  it("honours loadBalancerIP when it is a free address of the pool, and only then", () => {
    const { ips } = pool(svc("a", { ip: "192.168.128.10" }));
    expect(decideVip(ips, svc("b", { asked: "192.168.128.12" }))).toEqual({
      kind: "allocated",
      ip: "192.168.128.12",
    });
    expect(decideVip(ips, svc("b", { asked: "192.168.128.10" })).kind).toBe("refused");
    expect(decideVip(ips, svc("b", { asked: "10.0.0.1" }))).toEqual({
      kind: "refused",
      message: "loadBalancerIP 10.0.0.1 is outside the VIP pool vips",
    });
  });

  it("a VIP outside the pool (the pool changed) is replaced", () => {
    const a = svc("a", { ip: "10.9.9.9" });
    const { ips } = pool(a);
    expect(decideVip(ips, a)).toEqual({ kind: "allocated", ip: "192.168.128.10" });
  });

  it("no VIP for other types: a pending address is released, a held one cleared", () => {
    const { ips } = pool();
    expect(decideVip(ips, svc("a"))).toEqual({ kind: "allocated", ip: "192.168.128.10" });
    const a = svc("a", { type: "ClusterIP", ip: "192.168.128.10" });
    expect(decideVip(ips, a)).toEqual({ kind: "none" });
    expect(decideVip(ips, svc("b"))).toEqual({ kind: "allocated", ip: "192.168.128.10" });
    applyVip(a, { kind: "none" });
    expect(a.status?.loadBalancer?.ingress).toEqual([]);
  });

  it("applyVip leaves a status alone that already says it", () => {
    const a = svc("a");
    applyVip(a, { kind: "refused", message: "full" });
    expect(a.status).toEqual({});
    applyVip(a, { kind: "allocated", ip: "192.168.128.10" });
    expect(a.status?.loadBalancer?.ingress).toEqual([{ ip: "192.168.128.10" }]);
  });
});

describe("VIP reconciles side by side (VIP_WORKERS)", () => {
  it("never hand out one address twice before any status is in the cache; a failed write frees its address", async () => {
    const objs = ["a", "b", "c"].map((n) => svc(n));
    const client = new FakeClient(...objs.map((o) => [Services, o] as [typeof Services, V1Service]));
    const store = new Store<V1Service>();
    for (const o of objs) store.set(o);
    // The pool reads the cache, which has none of the writes below yet (the informer lags).
    const ips = new IpPool("vips", "192.168.128.10-192.168.128.12", () =>
      store.list().flatMap((o) => (o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "")),
    );
    const target: VipTarget<V1Service> = { resource: Services, store };
    const events = { event: () => undefined };
    client.failNext("patch", new ApiError(500, "InternalError", "etcd timeout"), "Service");
    const results = await Promise.allSettled(
      objs.map((o) =>
        reconcileVip(client, ips, events, target, { namespace: "ns", name: o.metadata?.name ?? "" }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled", "fulfilled"]);
    const given = ["b", "c"].map((n) => vipOf(client.peek(Services, n, "ns") ?? {}));
    expect(given).toEqual(["192.168.128.11", "192.168.128.12"]);
    // a's address went back to the pool: its retry gets it, not one of b's or c's.
    await reconcileVip(client, ips, events, target, { namespace: "ns", name: "a" });
    expect(vipOf(client.peek(Services, "a", "ns") ?? {})).toBe("192.168.128.10");
  });
});
