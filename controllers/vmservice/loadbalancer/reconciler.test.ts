// The Service load balancer against the in-memory client: only Services in Supervisor Namespaces,
// a VIP without conditions, the VIP cleared when the type changes.
import type { V1Namespace, V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { SUPERVISOR_NAMESPACE_LABEL } from "../../api/contracts.ts";
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
  const pool = new IpPool("vips", "192.168.128.0/24", () =>
    services.list().flatMap((o) => (o.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "")),
  );
  const r = new LoadBalancerReconciler(client, services, namespaces, pool, { event: () => undefined });
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
});
