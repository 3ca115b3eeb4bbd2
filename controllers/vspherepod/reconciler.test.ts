// The VSpherePod reconciler's decisions against the in-memory FakeClient (test/e2e/esxi.e2e.ts covers
// the same against a real API server).
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ESXI_HOST_LABEL, TEMPLATE_HASH_ANNOTATION } from "../api/contracts.ts";
import { type ESXiHost, ESXiHostResource } from "../api/vsphere/esxihost.ts";
import { type VSpherePod, VSpherePodResource } from "../api/vsphere/vspherepod.ts";
import type { KubeObject } from "../runtime/client.ts";
import { conditionOf } from "../runtime/conditions.ts";
import { ApiError } from "../runtime/errors.ts";
import { silentLogger } from "../runtime/log.ts";
import { Nodes, Pods, type ResourceType } from "../runtime/resource.ts";
import { FakeClient } from "../runtime/testing/fakeclient.ts";
import { storeFrom } from "../runtime/testing/stores.ts";
import { testInventory } from "../shared/placement/testing.ts";
import { VSpherePodReconciler } from "./reconciler.ts";

const host = (name: string, cpu = 8): ESXiHost => ({
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "ESXiHost",
  metadata: { name, uid: `${name}-uid` },
  spec: {
    clusterName: "c1",
    zone: "zone-a",
    capacity: { cpu, memory: "64Gi", pods: 110 },
    maintenanceMode: false,
  },
});

const node = (name: string, ready = "True"): V1Node => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels: { [ESXI_HOST_LABEL]: name } },
  spec: {},
  status: { conditions: [{ type: "Ready", status: ready }] },
});

const vpod = (cpu = "500m"): VSpherePod => ({
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "VSpherePod",
  metadata: { name: "web", namespace: "ns", uid: "vpod-uid" },
  spec: {
    template: { spec: { containers: [{ name: "c", image: "nginx", resources: { requests: { cpu } } }] } },
  } as VSpherePod["spec"],
});

/** A FakeClient with host esx-01 (Ready) and `more`. */
const oneHost = (...more: Array<[ResourceType, KubeObject]>) =>
  new FakeClient([ESXiHostResource, host("esx-01")], [Nodes, node("esx-01")], ...more);

function harness(fake: FakeClient) {
  const { inv, sync } = testInventory(fake);
  const events: Array<{ type: string; reason: string }> = [];
  const recorder = {
    event: (_o: KubeObject, type: string, reason: string) => void events.push({ type, reason }),
  };
  const visit = async () => {
    await sync();
    const r = new VSpherePodReconciler(fake, inv, await storeFrom(fake, VSpherePodResource), recorder);
    return r.reconcile({ namespace: "ns", name: "web" }, silentLogger);
  };
  return { visit, events };
}

const statusOf = (fake: FakeClient) => fake.peek(VSpherePodResource, "web", "ns")?.status;
const verbs = (fake: FakeClient) =>
  fake.actions.map((a) => `${a.verb} ${a.kind}${a.subresource ? `/${a.subresource}` : ""}`);

describe("the VSpherePod reconciler", () => {
  it("places the pod with DRS, creates it bound there, then mirrors it Running and Ready", async () => {
    const fake = oneHost([VSpherePodResource, vpod()]);
    const { visit, events } = harness(fake);
    expect(await visit()).toBeUndefined();
    expect(verbs(fake)).toEqual(["create Pod", "patch VSpherePod/status"]);
    const pod = fake.peek(Pods, "web", "ns");
    expect(pod?.spec?.nodeName).toBe("esx-01");
    expect(pod?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "VSpherePod", uid: "vpod-uid" });
    expect(pod?.spec?.tolerations?.map((t) => t.key)).toContain("virtual-kubelet.io/provider");
    expect(events.map((e) => e.reason)).toEqual(["Placed"]);
    expect(statusOf(fake)?.placements).toBe(1);
    expect(conditionOf({ status: statusOf(fake) }, "Placed")?.status).toBe("True");

    await fake.patch(
      Pods,
      "web",
      "ns",
      {
        status: { phase: "Running", podIP: "10.128.0.2", conditions: [{ type: "Ready", status: "True" }] },
      },
      { subresource: "status" },
    );
    fake.actions.length = 0;
    await visit();
    expect(verbs(fake)).toEqual(["patch VSpherePod/status"]);
    expect(statusOf(fake)).toMatchObject({
      phase: "Running",
      hostName: "esx-01",
      podIP: "10.128.0.2",
      placements: 1,
    });
    expect(conditionOf({ status: statusOf(fake) }, "Ready")).toMatchObject({
      status: "True",
      reason: "PodReady",
    });

    fake.actions.length = 0;
    await visit();
    expect(fake.actions).toEqual([]); // nothing changed: nothing sent
  });

  it("does nothing for a VSpherePod being deleted (the garbage collector removes its pod)", async () => {
    const deleting = {
      ...vpod(),
      metadata: { ...vpod().metadata, finalizers: ["x"], deletionTimestamp: new Date() },
    };
    const fake = oneHost([VSpherePodResource, deleting]);
    const { visit } = harness(fake);
    expect(await visit()).toBeUndefined();
    expect(fake.actions).toEqual([]);
  });

  it("reports no room as Placed=False InsufficientCapacity with an event, and retries later", async () => {
    const fake = new FakeClient(
      [ESXiHostResource, host("esx-01", 1)],
      [Nodes, node("esx-01")],
      [VSpherePodResource, vpod("2")],
    );
    const { visit, events } = harness(fake);
    expect(await visit()).toEqual({ requeueAfter: 30_000 });
    expect(verbs(fake)).toEqual(["patch VSpherePod/status"]);
    expect(conditionOf({ status: statusOf(fake) }, "Placed")).toMatchObject({
      status: "False",
      reason: "InsufficientCapacity",
    });
    expect(events).toEqual([{ type: "Warning", reason: "InsufficientCapacity" }]);
  });

  it("restarts the pod elsewhere when its host stops responding (vSphere HA)", async () => {
    const fake = new FakeClient(
      [ESXiHostResource, host("esx-01")],
      [ESXiHostResource, host("esx-02")],
      [Nodes, node("esx-01")],
      [Nodes, node("esx-02")],
      [VSpherePodResource, vpod()],
    );
    const { visit, events } = harness(fake);
    await visit();
    const placedOn = fake.peek(Pods, "web", "ns")?.spec?.nodeName ?? "";
    await fake.patch(
      Nodes,
      placedOn,
      undefined,
      { status: { conditions: [{ type: "Ready", status: "Unknown" }] } },
      { subresource: "status" },
    );
    expect(await visit()).toEqual({ requeueAfter: 200 });
    expect(fake.peek(Pods, "web", "ns")).toBeUndefined();
    expect(events.map((e) => e.reason)).toContain("HostFailure");
    await visit();
    expect(fake.peek(Pods, "web", "ns")?.spec?.nodeName).not.toBe(placedOn);
    expect(statusOf(fake)?.placements).toBe(2);
  });

  it("reports a Pod of that name that is not its own as PodConflict and leaves it alone", async () => {
    const foreign: V1Pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "web", namespace: "ns", annotations: { [TEMPLATE_HASH_ANNOTATION]: "x" } },
      spec: { containers: [{ name: "c" }] },
    };
    const fake = oneHost([Pods, foreign], [VSpherePodResource, vpod()]);
    const { visit } = harness(fake);
    expect(await visit()).toEqual({ requeueAfter: 30_000 });
    expect(verbs(fake)).toEqual(["patch VSpherePod/status"]);
    expect(conditionOf({ status: statusOf(fake) }, "Placed")?.reason).toBe("PodConflict");
  });

  it("fails (and is retried) on a Conflict from the API server, then succeeds", async () => {
    const fake = oneHost([VSpherePodResource, vpod()]);
    const { visit } = harness(fake);
    fake.failNext("patch", new ApiError(409, "Conflict", "the object has been modified"), "VSpherePod");
    await expect(visit()).rejects.toThrow("the object has been modified");
    await visit(); // the pod exists now: its status is mirrored
    expect(conditionOf({ status: statusOf(fake) }, "Placed")?.status).toBe("True");
    expect(fake.writes("Pod").filter((a) => a.verb === "create")).toHaveLength(1);
  });

  it("takes a status write to a VSpherePod deleted meanwhile (NotFound) as no failure", async () => {
    const fake = oneHost([VSpherePodResource, vpod()]);
    const { visit } = harness(fake);
    fake.failNext("patch", new ApiError(404, "NotFound", 'vspherepods "web" not found'), "VSpherePod");
    await expect(visit()).resolves.toBeUndefined();
  });
});
