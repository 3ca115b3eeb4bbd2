import type { V1Node } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { ESXiHost } from "../api/vsphere/esxihost.ts";
import { overlayPatch } from "../runtime/patch.ts";
import { uuidFrom } from "../shared/ids.ts";
import {
  defaultManagementIP,
  defaultPodCIDR,
  desiredNode,
  lowestFreeIndex,
  nodeStatusStale,
  withProviderTaint,
} from "./node.ts";
import { connectionState, hostStatus } from "./status.ts";

const GiB = 2 ** 30;
const host = (over: Partial<ESXiHost["spec"]> = {}): ESXiHost => ({
  metadata: { name: "esx-01", uid: "uid-1", generation: 1 },
  spec: {
    clusterName: "c1",
    zone: "zone-a",
    capacity: { cpu: 32, memory: "256Gi", pods: 110 },
    maintenanceMode: false,
    ...over,
  },
});
const now = new Date("2026-01-01T00:00:00Z");

describe("the Node of an ESXi host", () => {
  it("is a virtual-kubelet node with the provider taint, zone, capacity and allocatable minus reservations", () => {
    const d = desiredNode(host(), 3, { cpuMilli: 30_000, memory: 248 * GiB, pods: 110 }, undefined, now);
    expect(d.node.metadata?.labels).toMatchObject({
      type: "virtual-kubelet",
      "kubernetes.io/role": "agent",
      "topology.kubernetes.io/zone": "zone-a",
    });
    expect(d.node.spec?.taints).toEqual([
      { key: "virtual-kubelet.io/provider", value: "vsphere", effect: "NoSchedule" },
    ]);
    expect(d.node.spec?.podCIDR).toBe("10.128.3.0/24");
    expect(d.status.capacity).toEqual({ cpu: "32", memory: "256Gi", pods: "110" });
    expect(d.status.allocatable).toEqual({ cpu: "30", memory: "248Gi", pods: "110" });
    expect(d.status.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "KubeletReady",
    });
    expect(d.node.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "ESXiHost",
      name: "esx-01",
      uid: "uid-1",
      controller: true,
    });
  });

  it("keeps taints others added and its pod CIDR once set", () => {
    const current: V1Node = {
      spec: {
        podCIDR: "10.9.9.0/24",
        taints: [{ key: "node.kubernetes.io/unreachable", effect: "NoExecute" }],
      },
    };
    const d = desiredNode(
      host({ maintenanceMode: true }),
      0,
      { cpuMilli: 1000, memory: GiB, pods: 1 },
      current,
      now,
    );
    expect(d.node.spec?.taints?.map((t) => t.key)).toEqual([
      "node.kubernetes.io/unreachable",
      "virtual-kubelet.io/provider",
    ]);
    expect(d.node.spec?.podCIDR).toBe("10.9.9.0/24");
    expect(d.node.spec?.unschedulable).toBe(true);
  });

  it("leaves a taint list that is already right as it is (no rewrite in another order)", () => {
    // The API server's admission appends node.kubernetes.io/not-ready to the Node as registered.
    const registered = desiredNode(host(), 0, { cpuMilli: 1000, memory: GiB, pods: 1 }, undefined, now).node;
    const taints = [
      ...(registered.spec?.taints ?? []),
      { key: "node.kubernetes.io/not-ready", effect: "NoSchedule" },
    ];
    const d = desiredNode(host(), 0, { cpuMilli: 1000, memory: GiB, pods: 1 }, { spec: { taints } }, now);
    expect(d.node.spec?.taints).toEqual(taints);
    expect(overlayPatch({ ...registered.spec, taints }, d.node.spec)).toBeUndefined();
    // A tampered or duplicated provider taint is put right in place.
    const tampered = [
      { key: "a", effect: "NoSchedule" },
      { key: "virtual-kubelet.io/provider", value: "other", effect: "NoExecute" },
      { key: "virtual-kubelet.io/provider", value: "vsphere", effect: "NoSchedule" },
    ];
    expect(withProviderTaint(tampered)).toEqual([
      { key: "a", effect: "NoSchedule" },
      { key: "virtual-kubelet.io/provider", value: "vsphere", effect: "NoSchedule" },
    ]);
  });

  it("posts status on change or when the last post is older than the interval", () => {
    const d = desiredNode(host(), 0, { cpuMilli: 32_000, memory: 256 * GiB, pods: 110 }, undefined, now);
    const node: V1Node = { status: d.status };
    expect(nodeStatusStale(node, d.status, new Date(now.getTime() + 60_000), 300_000)).toBe(false);
    expect(nodeStatusStale(node, d.status, new Date(now.getTime() + 300_000), 300_000)).toBe(true);
    const changed = desiredNode(
      host(),
      0,
      { cpuMilli: 16_000, memory: 256 * GiB, pods: 110 },
      undefined,
      now,
    );
    expect(nodeStatusStale(node, changed.status, now, 300_000)).toBe(true);
  });

  it("derives unique defaults from the host index", () => {
    expect(lowestFreeIndex(new Set([0, 1, 3]))).toBe(2);
    expect(defaultPodCIDR(257)).toBe("10.129.1.0/24");
    const ips = new Set(Array.from({ length: 2000 }, (_, i) => defaultManagementIP(i)));
    expect(ips.size).toBe(2000);
    expect(uuidFrom("a")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe("host status", () => {
  const ready = (status: string): V1Node => ({
    metadata: { name: "esx-01" },
    status: { conditions: [{ type: "Ready", status }] },
  });
  it("is notResponding only once heartbeats stopped and the node went Unknown", () => {
    expect(connectionState(host(), undefined)).toBe("disconnected");
    expect(connectionState(host(), ready("Unknown"))).toBe("connected"); // the Spherelet posts Ready again
    expect(connectionState(host({ simulation: { heartbeats: false } }), ready("True"))).toBe("connected");
    expect(connectionState(host({ simulation: { heartbeats: false } }), ready("Unknown"))).toBe(
      "notResponding",
    );
  });
  it("reports maintenance progress and free capacity", () => {
    const facts = {
      node: ready("True"),
      capacity: { cpuMilli: 32_000, memory: 256 * GiB, pods: 110 },
      allocated: { cpuMilli: 1500, memory: GiB, pods: 3 },
      pods: 3,
      vms: 0,
    };
    const entering = hostStatus(host({ maintenanceMode: true }), { ...facts, toEvacuate: 3 }, now);
    expect(entering.inMaintenanceMode).toBe(false);
    expect(entering.conditions?.find((c) => c.type === "Schedulable")).toMatchObject({
      status: "False",
      reason: "EnteringMaintenanceMode",
    });
    expect(entering.free).toEqual({ cpu: "30500m", memory: "255Gi" });
    const done = hostStatus(host({ maintenanceMode: true }), { ...facts, toEvacuate: 0 }, now);
    expect(done.inMaintenanceMode).toBe(true);
    const blocked = hostStatus(
      host({ maintenanceMode: true }),
      { ...facts, toEvacuate: 1, evacuationBlocked: "PDB" },
      now,
    );
    expect(blocked.conditions?.find((c) => c.type === "Schedulable")?.reason).toBe("EvacuationBlocked");
  });
});
