// The VirtualMachine reconciler's decisions against the in-memory client: placement and power, the
// namespace's limits, deletion, a Conflict and a NotFound.
import type { V1Namespace, V1Node, V1ResourceQuota } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { type VirtualMachine, VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import {
  type VirtualMachineClass,
  VirtualMachineClassResource,
} from "../../api/vmoperator/virtualmachineclass.ts";
import type { ESXiHost } from "../../api/vsphere/esxihost.ts";
import type { SupervisorNamespace } from "../../api/vsphere/supervisornamespace.ts";
import type { KubeObject } from "../../runtime/client.ts";
import { conditionOf } from "../../runtime/conditions.ts";
import { ApiError } from "../../runtime/errors.ts";
import { silentLogger } from "../../runtime/log.ts";
import type { ResourceType } from "../../runtime/resource.ts";
import { byNamespace, Store } from "../../runtime/store.ts";
import { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { IpPool } from "../../shared/ipam.ts";
import { Inventory } from "../../shared/placement/inventory.ts";
import { TestInformers } from "../../shared/placement/testing.ts";
import { defaultCatalogue } from "../../shared/vmclasses.ts";
import { HOST_INDEX, NS_INDEX, type VMCaches } from "./capacity.ts";
import { Conditions } from "./decisions.ts";
import { VirtualMachineReconciler } from "./reconciler.ts";
import { vmReservations } from "./reservations.ts";

const NOW = new Date("2026-01-01T00:00:00Z");

const host = (name: string, o: Partial<ESXiHost["spec"]> = {}): ESXiHost => ({
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "ESXiHost",
  metadata: { name },
  spec: {
    clusterName: "c",
    zone: "zone-a",
    capacity: { cpu: 8, memory: "32Gi", pods: 100 },
    maintenanceMode: false,
    ...o,
  },
});
const node = (name: string, ready = "True"): V1Node => ({
  kind: "Node",
  metadata: { name, labels: { "vsphere.pacific.dev/esxi-host": name } },
  spec: {},
  status: { conditions: [{ type: "Ready", status: ready }] },
});
const vmClass = (name: string): VirtualMachineClass => ({
  apiVersion: "vmoperator.vmware.com/v1alpha3",
  kind: "VirtualMachineClass",
  metadata: { name, namespace: "ns" },
  spec: defaultCatalogue[name] ?? {},
});
const vm = (name: string, o: Partial<VirtualMachine["spec"]> = {}): VirtualMachine =>
  ({
    apiVersion: "vmoperator.vmware.com/v1alpha3",
    kind: "VirtualMachine",
    metadata: { name, namespace: "ns", uid: `uid-${name}`, generation: 1 },
    spec: { className: "guaranteed-small", powerState: "PoweredOn", ...o },
  }) as VirtualMachine;

/** A reconciler over caches holding `objs`, and a FakeClient holding the VMs. */
function setup(vms: VirtualMachine[], o: { hosts?: ESXiHost[]; nodes?: V1Node[]; limits?: object } = {}) {
  const inv = new Inventory(new TestInformers());
  for (const h of o.hosts ?? [host("h1")]) inv.hosts.store.set(h);
  for (const n of o.nodes ?? [node("h1")]) inv.nodes.store.set(n);
  const c: VMCaches = {
    vms: new Store<VirtualMachine>(),
    classes: new Store<VirtualMachineClass>(),
    namespaces: new Store<V1Namespace>(),
    svns: new Store<SupervisorNamespace>(),
    quotas: new Store<V1ResourceQuota>(),
  };
  c.vms.addIndex(HOST_INDEX, (v) => (v.status?.host ? [v.status.host] : []));
  c.vms.addIndex(NS_INDEX, byNamespace);
  for (const v of vms) c.vms.set(v);
  for (const n of ["guaranteed-small", "best-effort-small", "guaranteed-large"]) c.classes.set(vmClass(n));
  c.namespaces.set({ metadata: { name: "ns" } });
  if (o.limits)
    c.svns.set({ metadata: { name: "ns" }, spec: { limits: o.limits } } as unknown as SupervisorNamespace);
  inv.addReservationSource(vmReservations(c));
  const client = new FakeClient(...vms.map((v): [ResourceType, KubeObject] => [VirtualMachineResource, v]), [
    VirtualMachineClassResource,
    vmClass("guaranteed-small"),
  ]);
  const events: string[] = [];
  const ips = new IpPool("vm-network", "10.244.0.0/24", () =>
    c.vms.list().map((v) => v.status?.network?.primaryIP4 ?? ""),
  );
  const settings = { vmBootDelayMs: 0, vmBootJitterMs: 0 };
  const r = new VirtualMachineReconciler(
    client,
    inv,
    c,
    { event: (_o, _t, reason) => events.push(reason) },
    settings,
    ips,
    () => NOW,
  );
  /** Reconciles `name`, then puts the stored VM back into the cache (as the watch would). */
  const reconcile = async (name: string) => {
    const res = await r.reconcile({ namespace: "ns", name }, silentLogger);
    const stored = client.peek(VirtualMachineResource, name, "ns");
    if (stored) c.vms.set(stored);
    return res;
  };
  return {
    inv,
    c,
    client,
    events,
    ips,
    reconcile,
    stored: (n: string) => client.peek(VirtualMachineResource, n, "ns"),
  };
}

describe("VirtualMachine reconciler", () => {
  it("places a VM, gives it an address and powers it on, in one status write", async () => {
    const s = setup([vm("a")]);
    expect(await s.reconcile("a")).toBeUndefined();
    const a = s.stored("a");
    expect(a?.status).toMatchObject({
      host: "h1",
      nodeName: "h1",
      zone: "zone-a",
      powerState: "PoweredOn",
      class: { name: "guaranteed-small" },
      network: { primaryIP4: "10.244.0.1" },
    });
    expect(conditionOf(a, Conditions.ready)).toMatchObject({ status: "True", observedGeneration: 1 });
    expect(conditionOf(a, Conditions.created)?.message).toBe("on ESXi host h1");
    expect(s.client.writes().map((w) => w.subresource)).toEqual(["status"]);
    expect(s.events).toEqual(["Placed"]);
    // Nothing changed: nothing is written.
    await s.reconcile("a");
    expect(s.client.writes()).toHaveLength(1);
  });

  it("boots for the boot delay: PoweringOn, Ready False, a requeue when it is due", async () => {
    const s = setup([vm("a")]);
    const r = new VirtualMachineReconciler(
      s.client,
      s.inv,
      s.c,
      { event: () => undefined },
      { vmBootDelayMs: 5000, vmBootJitterMs: 0 },
      s.ips,
      () => NOW,
    );
    expect(await r.reconcile({ namespace: "ns", name: "a" }, silentLogger)).toEqual({ requeueAfter: 5005 });
    const a = s.stored("a");
    expect(a?.status?.powerState).toBe("PoweredOff");
    expect(conditionOf(a, Conditions.poweredOn)).toMatchObject({ status: "Unknown", reason: "PoweringOn" });
    expect(conditionOf(a, Conditions.ready)).toMatchObject({ status: "False", reason: "PoweringOn" });
  });

  it("places nothing beyond the namespace's limits, and says why", async () => {
    const s = setup([vm("a"), vm("b")], { limits: { cpu: "3" } });
    await s.reconcile("a");
    expect(await s.reconcile("b")).toEqual({ requeueAfter: 15_000 });
    const b = s.stored("b");
    expect(b?.status?.host).toBeUndefined();
    expect(conditionOf(b, Conditions.created)).toMatchObject({ status: "False", reason: "QuotaExceeded" });
    expect(conditionOf(b, Conditions.ready)?.reason).toBe("QuotaExceeded");
    expect(s.events).toEqual(["Placed", "QuotaExceeded"]);
  });

  it("restarts a failed host's VM on another host (vSphere HA)", async () => {
    const s = setup([vm("a")], { hosts: [host("h1"), host("h2")], nodes: [node("h1"), node("h2")] });
    await s.reconcile("a");
    const from = s.stored("a")?.status?.host ?? "";
    s.inv.nodes.store.set(node(from, "Unknown"));
    await s.reconcile("a");
    expect(s.stored("a")?.status?.host).not.toBe(from);
    expect(s.events).toEqual(["Placed", "HostFailure"]);
  });

  it("stamps nextRestartTime: now with the time, then restarts", async () => {
    const s = setup([vm("a")]);
    await s.reconcile("a");
    s.c.vms.set({ ...(s.stored("a") as VirtualMachine), spec: { ...vm("a").spec, nextRestartTime: "now" } });
    await s.client.patch(VirtualMachineResource, "a", "ns", { spec: { nextRestartTime: "now" } });
    await s.reconcile("a");
    expect(s.stored("a")?.spec.nextRestartTime).toBe("2026-01-01T00:00:00Z");
    await s.reconcile("a");
    expect(s.stored("a")?.status?.lastRestartTime).toBe("2026-01-01T00:00:00Z");
    expect(s.events).toContain("Restarted");
  });

  it("deletion writes nothing and releases the address and the placement it held", async () => {
    const s = setup([vm("a"), vm("b")], { limits: { cpu: "2" } });
    await s.reconcile("a");
    await s.client.delete(VirtualMachineResource, "a", "ns");
    s.c.vms.delete("ns/a");
    const writes = s.client.writes().length;
    expect(await s.reconcile("a")).toBeUndefined();
    expect(s.client.writes()).toHaveLength(writes);
    // a's reservation is gone with it: b fits under the limit now.
    await s.reconcile("b");
    expect(s.stored("b")?.status?.host).toBe("h1");
  });

  it("a Conflict on the status write fails the reconcile (retried with backoff)", async () => {
    const s = setup([vm("a")]);
    s.client.failNext("patch", new ApiError(409, "Conflict", "the object has been modified"));
    await expect(s.reconcile("a")).rejects.toThrow("modified");
    expect(s.stored("a")?.status).toBeUndefined();
    await s.reconcile("a");
    expect(s.stored("a")?.status?.host).toBe("h1");
  });

  it("a VM deleted meanwhile (NotFound on the write) is no failure", async () => {
    const s = setup([vm("a")]);
    await s.client.delete(VirtualMachineResource, "a", "ns");
    expect(await s.reconcile("a")).toBeUndefined();
  });

  it("a missing class or unbound storage class blocks placement, without an event", async () => {
    const s = setup([vm("a", { className: "nope" }), vm("b", { storageClass: "gold" })]);
    expect(await s.reconcile("a")).toBeUndefined();
    expect(conditionOf(s.stored("a"), Conditions.classReady)).toMatchObject({
      status: "False",
      reason: "NotFound",
    });
    expect(conditionOf(s.stored("a"), Conditions.created)?.reason).toBe("NotReady");
    await s.reconcile("b");
    expect(conditionOf(s.stored("b"), Conditions.storageReady)?.status).toBe("False");
    expect(s.events).toEqual([]);
  });
});
