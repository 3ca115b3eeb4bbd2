// The VirtualMachineService reconciler against the in-memory client: a VIP and Ready, an exhausted
// pool, a released VIP reused, a failed write, a service deleted meanwhile.
import { describe, expect, it } from "vitest";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../api/vmoperator/virtualmachineservice.ts";
import type { KubeObject } from "../../runtime/client.ts";
import { conditionOf } from "../../runtime/conditions.ts";
import { ApiError } from "../../runtime/errors.ts";
import type { ResourceType } from "../../runtime/resource.ts";
import { Store } from "../../runtime/store.ts";
import { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { IpPool } from "../../shared/ipam.ts";
import { VirtualMachineServiceReconciler } from "./reconciler.ts";

const vmService = (name: string, type = "LoadBalancer"): VirtualMachineService =>
  ({
    apiVersion: "vmoperator.vmware.com/v1alpha3",
    kind: "VirtualMachineService",
    metadata: { name, namespace: "ns", generation: 1 },
    spec: { type, ports: [{ name: "https", protocol: "TCP", port: 443, targetPort: 6443 }] },
  }) as VirtualMachineService;

function setup(...objs: VirtualMachineService[]) {
  const client = new FakeClient(
    ...objs.map((o): [ResourceType, KubeObject] => [VirtualMachineServiceResource, o]),
  );
  const store = new Store<VirtualMachineService>();
  const sync = () => {
    for (const k of [...store.keys()]) store.delete(k);
    for (const o of objs) {
      const s = client.peek(VirtualMachineServiceResource, o.metadata.name ?? "", "ns");
      if (s) store.set(s);
    }
  };
  sync();
  const pool = new IpPool("vips", "192.168.128.10-192.168.128.11", () =>
    store.list().flatMap((o) => (o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "")),
  );
  const events: string[] = [];
  const r = new VirtualMachineServiceReconciler(client, store, pool, {
    event: (_o, _t, reason) => events.push(reason),
  });
  const reconcile = async (name: string) => {
    const res = await r.reconcile({ namespace: "ns", name });
    sync();
    return res;
  };
  const stored = (name: string) => client.peek(VirtualMachineServiceResource, name, "ns");
  return { client, store, events, reconcile, stored };
}

describe("VirtualMachineService reconciler", () => {
  it("gives a LoadBalancer service the lowest free VIP and Ready, once", async () => {
    const s = setup(vmService("a"));
    expect(await s.reconcile("a")).toBeUndefined();
    expect(s.stored("a")?.status?.loadBalancer?.ingress).toEqual([{ ip: "192.168.128.10" }]);
    expect(conditionOf(s.stored("a"), "Ready")).toMatchObject({
      status: "True",
      reason: "VIPAllocated",
      message: "VIP 192.168.128.10",
      observedGeneration: 1,
    });
    await s.reconcile("a");
    expect(s.client.writes()).toHaveLength(1);
  });

  it("an exhausted pool: Ready False, an event, a requeue; a released VIP is then reused", async () => {
    const s = setup(vmService("a"), vmService("b"), vmService("c"));
    await s.reconcile("a");
    await s.reconcile("b");
    expect(await s.reconcile("c")).toEqual({ requeueAfter: 30_000 });
    expect(conditionOf(s.stored("c"), "Ready")).toMatchObject({
      status: "False",
      reason: "VIPPoolExhausted",
    });
    expect(s.events).toEqual(["VIPPoolExhausted"]);
    await s.client.delete(VirtualMachineServiceResource, "a", "ns");
    await s.reconcile("a"); // gone
    expect(await s.reconcile("c")).toBeUndefined();
    expect(s.stored("c")?.status?.loadBalancer?.ingress).toEqual([{ ip: "192.168.128.10" }]);
  });

  it("a Conflict on the write fails the reconcile and frees the address it had just taken", async () => {
    const s = setup(vmService("a"), vmService("b"));
    s.client.failNext("patch", new ApiError(409, "Conflict", "the object has been modified"));
    await expect(s.reconcile("a")).rejects.toThrow("modified");
    await s.reconcile("b");
    expect(s.stored("b")?.status?.loadBalancer?.ingress).toEqual([{ ip: "192.168.128.10" }]);
  });

  it("a service deleted meanwhile (NotFound on the write) is no failure", async () => {
    const s = setup(vmService("a"));
    await s.client.delete(VirtualMachineServiceResource, "a", "ns");
    expect(await s.reconcile("a")).toBeUndefined();
  });

  it("a ClusterIP service gets no VIP and no condition", async () => {
    const s = setup(vmService("a", "ClusterIP"));
    await s.reconcile("a");
    expect(s.client.writes()).toHaveLength(0);
  });
});
