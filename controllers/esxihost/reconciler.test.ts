// The ESXiHost reconciler's decisions against the in-memory FakeClient (test/e2e/esxi.e2e.ts covers
// the same against a real API server, kube-controller-manager and scheduler).
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it, vi } from "vitest";
import { ESXI_HOST_LABEL } from "../api/contracts.ts";
import { type ESXiHost, ESXiHostResource } from "../api/vsphere/esxihost.ts";
import type { KubeObject } from "../runtime/client.ts";
import { conditionOf } from "../runtime/conditions.ts";
import { ApiError } from "../runtime/errors.ts";
import { silentLogger } from "../runtime/log.ts";
import { Nodes, Pods } from "../runtime/resource.ts";
import { FakeClient } from "../runtime/testing/fakeclient.ts";
import { defaultSettings } from "../settings.ts";
import { testInventory } from "../shared/placement/testing.ts";
import { ESXiHostReconciler, type Evict } from "./reconciler.ts";

const host = (over: Partial<ESXiHost["spec"]> = {}): ESXiHost => ({
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "ESXiHost",
  metadata: { name: "esx-01", uid: "host-uid" },
  spec: {
    clusterName: "c1",
    zone: "zone-a",
    capacity: { cpu: 8, memory: "64Gi", pods: 110 },
    maintenanceMode: false,
    ...over,
  },
});

const pod = (name: string): V1Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "ns" },
  spec: { nodeName: "esx-01", containers: [{ name: "c", resources: { requests: { cpu: "500m" } } }] },
  status: { phase: "Running" },
});

function harness(fake: FakeClient, evict: Evict = async () => {}) {
  const { inv, sync } = testInventory(fake);
  const events: Array<{ type: string; reason: string }> = [];
  const recorder = {
    event: (_o: KubeObject, type: string, reason: string) => void events.push({ type, reason }),
  };
  const heartbeat = { lastRenew: new Map<string, Date>(), renewSoon: vi.fn() };
  const r = new ESXiHostReconciler(fake, inv, heartbeat, defaultSettings, recorder, evict);
  const visit = async () => {
    await sync();
    return r.reconcile({ name: "esx-01" }, silentLogger);
  };
  return { visit, events, heartbeat };
}

const status = (fake: FakeClient) => fake.peek(ESXiHostResource, "esx-01")?.status;

describe("the ESXiHost reconciler", () => {
  it("registers the Node with its status, reports the host connected, then writes nothing more", async () => {
    const fake = new FakeClient([ESXiHostResource, host()]);
    const { visit, heartbeat } = harness(fake);
    expect(await visit()).toEqual({ requeueAfter: defaultSettings.nodeStatusMaxIntervalMs });
    expect(fake.actions.map((a) => `${a.verb} ${a.kind}${a.subresource ? `/${a.subresource}` : ""}`)).toEqual(
      ["create Node", "patch ESXiHost/status"],
    );
    const node = fake.peek(Nodes, "esx-01");
    expect(node?.metadata?.labels?.[ESXI_HOST_LABEL]).toBe("esx-01");
    expect(node?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "ESXiHost", uid: "host-uid" });
    expect(node?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(heartbeat.renewSoon).toHaveBeenCalledWith("esx-01");
    const s = status(fake);
    expect(s?.connectionState).toBe("connected");
    expect(conditionOf({ status: s }, "Ready")).toMatchObject({ status: "True", reason: "Connected" });
    expect(conditionOf({ status: s }, "Schedulable")?.status).toBe("True");

    fake.actions.length = 0;
    await visit();
    expect(fake.actions).toEqual([]);
  });

  it("does nothing for a host being deleted (the garbage collector removes Node and Lease)", async () => {
    const fake = new FakeClient([
      ESXiHostResource,
      { ...host(), metadata: { ...host().metadata, finalizers: ["x"], deletionTimestamp: new Date() } },
    ]);
    const { visit } = harness(fake);
    expect(await visit()).toBeUndefined();
    expect(fake.actions).toEqual([]);
  });

  it("cordons and evicts in maintenance mode; a PodDisruptionBudget's 429 blocks it with a reason", async () => {
    const fake = new FakeClient([ESXiHostResource, host()]);
    const evicted: string[] = [];
    const evict: Evict = async (_ns, name) => {
      if (name === "guarded")
        throw new ApiError(
          429,
          "TooManyRequests",
          "Cannot evict pod as it would violate the pod's disruption budget.",
        );
      evicted.push(name);
    };
    const { visit, events } = harness(fake, evict);
    await visit();
    await fake.create(Pods, pod("free"));
    await fake.create(Pods, pod("guarded"));
    await fake.patch(ESXiHostResource, "esx-01", undefined, { spec: { maintenanceMode: true } });
    expect(await visit()).toEqual({ requeueAfter: 3_000 });
    expect(evicted).toEqual(["free"]);
    expect(fake.peek(Nodes, "esx-01")?.spec?.unschedulable).toBe(true);
    expect(events.map((e) => e.reason)).toContain("EvacuationBlocked");
    const s = status(fake);
    expect(s?.inMaintenanceMode).toBe(false);
    expect(conditionOf({ status: s }, "Schedulable")).toMatchObject({
      status: "False",
      reason: "EvacuationBlocked",
    });
  });

  it("reports a Node of that name that is someone else's (AlreadyExists) as NodeConflict, and evicts nothing", async () => {
    const foreign: V1Node = { apiVersion: "v1", kind: "Node", metadata: { name: "esx-01" } };
    const fake = new FakeClient([ESXiHostResource, host({ maintenanceMode: true })], [Nodes, foreign]);
    const evict = vi.fn<Evict>();
    const { visit } = harness(fake, evict);
    await fake.create(Pods, pod("p"));
    fake.actions.length = 0;
    // Not in the cache (no label of ours): the create fails with AlreadyExists and the Node is read.
    await visit();
    expect(fake.actions.map((a) => a.verb)).toEqual(["create", "patch"]);
    expect(evict).not.toHaveBeenCalled();
    const s = status(fake);
    expect(s?.connectionState).toBe("disconnected");
    expect(conditionOf({ status: s }, "Ready")).toMatchObject({ status: "False", reason: "NodeConflict" });
    expect(fake.peek(Nodes, "esx-01")?.metadata?.labels).toBeUndefined(); // never touched
  });

  it("fails (and is retried) on a Conflict from the API server, then succeeds", async () => {
    const fake = new FakeClient([ESXiHostResource, host()]);
    const { visit } = harness(fake);
    fake.failNext("patch", new ApiError(409, "Conflict", "the object has been modified"), "ESXiHost");
    await expect(visit()).rejects.toThrow("the object has been modified");
    await visit();
    expect(status(fake)?.connectionState).toBe("connected");
  });

  it("takes a status write to a host deleted meanwhile (NotFound) as no failure", async () => {
    const fake = new FakeClient([ESXiHostResource, host()]);
    const { visit } = harness(fake);
    fake.failNext("patch", new ApiError(404, "NotFound", 'esxihosts "esx-01" not found'), "ESXiHost");
    await expect(visit()).resolves.toEqual({ requeueAfter: defaultSettings.nodeStatusMaxIntervalMs });
  });
});
