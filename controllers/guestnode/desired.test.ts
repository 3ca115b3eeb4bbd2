// The guest node agent's pure decisions: each Machine's plan, and the Node it registers.

import type { V1Node, V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { Machine } from "../api/cluster/machine.ts";
import { NODE_REGISTRATION_ANNOTATION } from "../api/contracts.ts";
import type { VirtualMachine } from "../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineClass } from "../api/vmoperator/virtualmachineclass.ts";
import { encodeNodeRegistration } from "../shared/noderegistration.ts";
import {
  CONTROL_PLANE_ROLE,
  DEFAULT_DRAIN_TIMEOUT_MS,
  desiredGuestNode,
  drainStep,
  durationMs,
  evictable,
  GUEST_NODE_LABEL,
  type MachineView,
  planMachine,
  strayNodes,
} from "./desired.ts";

const machine = (name: string, cp: boolean, extra: Partial<Machine["metadata"]> = {}): Machine => ({
  metadata: {
    name,
    namespace: "ns",
    uid: `uid-${name}`,
    labels: {
      "cluster.x-k8s.io/cluster-name": "tkc",
      ...(cp
        ? { "cluster.x-k8s.io/control-plane": "" }
        : { "cluster.x-k8s.io/deployment-name": "tkc-pool-1" }),
    },
    ...extra,
  },
  spec: {
    clusterName: "tkc",
    bootstrap: {},
    infrastructureRef: {},
    version: "v1.23.8+vmware.3",
    providerID: "vsphere://4203a1b2-0000-0000-0000-000000000001",
  },
  status: {
    nodeRef: { apiVersion: "v1", kind: "Node", name },
    addresses: [{ type: "InternalIP", address: "10.244.0.5" }],
  },
});
const vm = (name: string, power: "PoweredOn" | "PoweredOff" = "PoweredOn"): VirtualMachine => ({
  metadata: { name, namespace: "ns" },
  spec: {
    className: "best-effort-small",
    powerState: power,
    powerOffMode: "TrySoft",
    suspendMode: "TrySoft",
    restartMode: "TrySoft",
  },
  status: { powerState: power, host: "esx-a", zone: "zone-a" },
});
const vmClass: VirtualMachineClass = {
  metadata: { name: "best-effort-small", namespace: "ns" },
  spec: { hardware: { cpus: 2, memory: "4Gi" } },
} as VirtualMachineClass;
const view = (m: Machine, v: VirtualMachine | undefined, extra: Partial<MachineView> = {}): MachineView => ({
  machine: m,
  vm: v,
  vmClass,
  hostUp: true,
  ...extra,
});

describe("planMachine", () => {
  it("runs a powered-on Machine, stops heartbeating a powered-off one or one on a failed host", () => {
    expect(planMachine(view(machine("w1", false), vm("w1")), false)).toEqual({ kind: "run", node: "w1" });
    expect(planMachine(view(machine("w1", false), vm("w1", "PoweredOff")), true)).toEqual({
      kind: "stopped",
      node: "w1",
    });
    expect(planMachine(view(machine("w1", false), vm("w1"), { hostUp: false }), true).kind).toBe("stopped");
    expect(planMachine(view(machine("w1", false), vm("w1", "PoweredOff")), false).kind).toBe("none");
  });

  it("drains a Machine being deleted until its deletion time plus the drain timeout", () => {
    const at = "2026-01-01T00:00:00Z";
    const m = machine("w1", false, { deletionTimestamp: at as unknown as Date });
    expect(planMachine(view(m, vm("w1")), true)).toEqual({
      kind: "drain",
      node: "w1",
      deadline: Date.parse(at) + DEFAULT_DRAIN_TIMEOUT_MS,
    });
    m.spec.nodeDrainTimeout = "30s";
    expect(planMachine(view(m, vm("w1")), true)).toMatchObject({ deadline: Date.parse(at) + 30_000 });
    expect(planMachine(view(m, vm("w1")), false).kind).toBe("none"); // no Node: nothing to drain
  });

  it("reads metav1.Duration", () => {
    expect(durationMs("1h30m")).toBe(5_400_000);
    expect(durationMs("90s")).toBe(90_000);
    expect(durationMs("soon")).toBeUndefined();
  });
});

describe("desiredGuestNode", () => {
  it("a control-plane Node: role label, NoSchedule taint, capacity from the class, kubelet version", () => {
    const n = desiredGuestNode(view(machine("cp1", true), vm("cp1")), new Date(0));
    expect(n.metadata?.labels?.[CONTROL_PLANE_ROLE]).toBe("");
    expect(n.metadata?.labels?.[GUEST_NODE_LABEL]).toBe("cp1");
    expect(n.spec?.taints).toEqual([{ key: CONTROL_PLANE_ROLE, effect: "NoSchedule" }]);
    expect(n.spec?.providerID).toBe("vsphere://4203a1b2-0000-0000-0000-000000000001");
    expect(n.status?.capacity).toMatchObject({ cpu: "2", memory: "4Gi", pods: "110" });
    expect(n.status?.nodeInfo?.kubeletVersion).toBe("v1.23.8+vmware.3");
    expect(n.status?.nodeInfo?.systemUUID).toBe("4203a1b2-0000-0000-0000-000000000001");
    expect(n.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(n.status?.addresses?.[0]).toEqual({ type: "InternalIP", address: "10.244.0.5" });
  });

  it("a worker Node carries the labels and taints of its Machine's node registration, not the control-plane role", () => {
    const m = machine("w1", false);
    m.metadata.annotations = encodeNodeRegistration({
      labels: { tier: "web" },
      taints: [{ key: "dedicated", value: "web", effect: "NoSchedule" }],
    });
    const n = desiredGuestNode(view(m, vm("w1")), new Date(0));
    expect(n.metadata?.labels?.tier).toBe("web");
    expect(n.metadata?.labels?.[CONTROL_PLANE_ROLE]).toBeUndefined();
    expect(n.spec?.taints).toEqual([{ key: "dedicated", value: "web", effect: "NoSchedule" }]);
  });

  it("a Machine without a registration (made before it was carried) registers with kubeadm's defaults", () => {
    expect(desiredGuestNode(view(machine("w1", false), vm("w1")), new Date(0)).spec?.taints).toEqual([]);
    const cp = machine("cp1", true);
    cp.metadata.annotations = { [NODE_REGISTRATION_ANNOTATION]: "not json" };
    expect(desiredGuestNode(view(cp, vm("cp1")), new Date(0)).spec?.taints).toEqual([
      { key: CONTROL_PLANE_ROLE, effect: "NoSchedule" },
    ]);
  });
});

describe("evictable", () => {
  it("leaves DaemonSet, mirror, terminating and finished pods alone", () => {
    expect(evictable({ metadata: {} })).toBe(true);
    expect(evictable({ metadata: { ownerReferences: [{ kind: "DaemonSet", controller: true }] } })).toBe(
      false,
    );
    expect(evictable({ metadata: { annotations: { "kubernetes.io/config.mirror": "x" } } })).toBe(false);
    expect(evictable({ metadata: { deletionTimestamp: "t" } })).toBe(false);
    expect(evictable({ metadata: {}, status: { phase: "Succeeded" } })).toBe(false);
  });
});

describe("drainStep", () => {
  const pod = (name: string, extra: Partial<V1Pod["metadata"]> = {}, phase = "Running"): V1Pod => ({
    metadata: { name, namespace: "default", ...extra },
    status: { phase },
  });
  const ds = {
    ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "cni", uid: "u", controller: true }],
  };
  const node = (unschedulable?: boolean): V1Node => ({ metadata: { name: "w1" }, spec: { unschedulable } });

  it("cordons, then evicts every pod but DaemonSet and mirror pods, until only those are left", () => {
    const pods = [
      pod("web-1"),
      pod("cni-x", ds),
      pod("static", { annotations: { "kubernetes.io/config.mirror": "h" } }),
    ];
    const first = drainStep(node(), pods, 10_000, 0);
    expect(first).toMatchObject({ cordon: true, done: false, timedOut: false, left: 2 });
    expect(first.evict.map((p) => p.metadata?.name)).toEqual(["web-1"]);
    // A pod already terminating is waited on, not evicted again; the cordon is not repeated.
    const going = drainStep(
      node(true),
      [pod("web-1", { deletionTimestamp: new Date(0) }), pods[1] as V1Pod],
      10_000,
      1,
    );
    expect(going).toMatchObject({ cordon: false, evict: [], done: false, left: 1 });
    expect(drainStep(node(true), [pods[1] as V1Pod, pod("job", {}, "Succeeded")], 10_000, 2)).toMatchObject({
      done: true,
      timedOut: false,
    });
  });

  it("gives up at the deadline (a PodDisruptionBudget that never allows) and lets the Node go", () => {
    expect(drainStep(node(true), [pod("db-0")], 10_000, 10_001)).toMatchObject({
      done: true,
      timedOut: true,
      evict: [],
      left: 1,
    });
  });
});

describe("strayNodes", () => {
  const node = (name: string, owner?: string, deleting = false): V1Node => ({
    metadata: {
      name,
      labels: owner ? { [GUEST_NODE_LABEL]: owner } : {},
      ...(deleting ? { deletionTimestamp: new Date() } : {}),
    },
  });

  it("names our Nodes whose Machine and VM are both gone, and no other", () => {
    const nodes = [
      node("tkc-cp-0", "tkc-cp-0"),
      node("tkc-w-0", "tkc-w-0"),
      node("tkc-w-1", "tkc-w-1"),
      node("by-hand"), // not registered by the agent: not ours to delete
      node("tkc-w-2", "tkc-w-2", true), // already going
    ];
    expect(strayNodes(nodes, new Set(["tkc-cp-0", "tkc-w-1"]))).toEqual(["tkc-w-0"]);
  });

  it("keeps every Node while its Machine or VM is known", () => {
    expect(strayNodes([node("a", "a"), node("b", "b")], new Set(["a", "b"]))).toEqual([]);
  });
});
