// The Service load balancer against the in-memory client: only Services in Supervisor Namespaces,
// a VIP without conditions, the VIP cleared when the type changes.
import type { V1Namespace, V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { SUPERVISOR_NAMESPACE_LABEL } from "../../api/contracts.ts";
import type { VirtualMachineService } from "../../api/vmoperator/virtualmachineservice.ts";
import type { KubeObject } from "../../runtime/client.ts";
import type { ResourceType } from "../../runtime/resource.ts";
import { Services } from "../../runtime/resource.ts";
import { Store } from "../../runtime/store.ts";
import { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { IpPool } from "../../shared/ipam.ts";
import { LoadBalancerReconciler } from "./reconciler.ts";

const service = (name: string, namespace: string, type = "LoadBalancer"): V1Service => ({
  metadata: { name, namespace },
  spec: { type, ports: [{ port: 80 }] },
});

function setup(...objs: V1Service[]) {
  return setupWith([], ...objs);
}

function setupWith(vms: VirtualMachineService[], ...objs: V1Service[]) {
  const client = new FakeClient(...objs.map((o): [ResourceType, KubeObject] => [Services, o]));
  const services = new Store<V1Service>();
  const namespaces = new Store<V1Namespace>();
  namespaces.set({ metadata: { name: "svns", labels: { [SUPERVISOR_NAMESPACE_LABEL]: "svns" } } });
  namespaces.set({ metadata: { name: "other" } });
  const sync = () => {
    for (const o of objs) {
      const s = client.peek(Services, o.metadata?.name ?? "", o.metadata?.namespace);
      if (s) services.set(s);
    }
  };
  sync();
  const vmServices = new Store<VirtualMachineService>();
  for (const v of vms) vmServices.set(v);
  const pool = new IpPool("vips", "192.168.128.0/24", () =>
    [...services.list(), ...vmServices.list()].flatMap((o) =>
      (o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? ""),
    ),
  );
  const r = new LoadBalancerReconciler(
    client,
    services,
    namespaces,
    pool,
    { event: () => undefined },
    vmServices,
  );
  const reconcile = async (namespace: string, name: string) => {
    const res = await r.reconcile({ namespace, name });
    sync();
    return res;
  };
  return { client, services, reconcile };
}

describe("Service load balancer", () => {
  it("serves Services of type LoadBalancer in Supervisor Namespaces only, with no condition", async () => {
    const s = setup(service("web", "svns"), service("web", "other"));
    await s.reconcile("svns", "web");
    await s.reconcile("other", "web");
    expect(s.client.peek(Services, "web", "svns")?.status).toEqual({
      loadBalancer: { ingress: [{ ip: "192.168.128.1" }] },
    });
    expect(s.client.peek(Services, "web", "other")?.status).toBeUndefined();
    expect(s.client.writes()).toHaveLength(1);
  });

  it("clears the VIP when the type is no longer LoadBalancer", async () => {
    const s = setup(service("web", "svns"));
    await s.reconcile("svns", "web");
    await s.client.patch(Services, "web", "svns", { spec: { type: "ClusterIP" } });
    s.services.set(s.client.peek(Services, "web", "svns") as V1Service);
    await s.reconcile("svns", "web");
    expect(s.client.peek(Services, "web", "svns")?.status?.loadBalancer?.ingress).toEqual([]);
  });

  it("gives a Service its Cluster's control-plane VIP (same controller), and no one else's", async () => {
    const owned = (uid: string) => [
      { apiVersion: "cluster.x-k8s.io/v1beta1", kind: "Cluster", name: "c", uid, controller: true },
    ];
    const vmService = {
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachineService",
      metadata: { name: "c-control-plane-service", namespace: "svns", ownerReferences: owned("u1") },
      spec: { type: "LoadBalancer" },
      status: { loadBalancer: { ingress: [{ ip: "192.168.128.1" }] } },
    } as unknown as VirtualMachineService;
    const asking = (name: string, uid: string): V1Service => ({
      metadata: { name, namespace: "svns", ownerReferences: owned(uid) },
      spec: { type: "LoadBalancer", loadBalancerIP: "192.168.128.1", ports: [{ port: 6443 }] },
    });
    const s = setupWith([vmService], asking("c-control-plane", "u1"), asking("intruder", "u2"));
    await s.reconcile("svns", "c-control-plane");
    await s.reconcile("svns", "intruder");
    expect(s.client.peek(Services, "c-control-plane", "svns")?.status?.loadBalancer?.ingress).toEqual([
      { ip: "192.168.128.1" },
    ]);
    expect(s.client.peek(Services, "intruder", "svns")?.status?.loadBalancer?.ingress ?? []).toEqual([]);
  });
});
