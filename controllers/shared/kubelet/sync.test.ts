import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { type HostNode, planHost } from "./sync.ts";

const host: HostNode = {
  hostIP: "172.16.0.2",
  podCIDR: "10.128.0.0/24",
  allocatable: { cpuMilli: 1000, memory: 2 ** 30, pods: 10 },
};
const now = new Date("2026-01-01T00:00:00Z");
const pod = (name: string, cpu: string, created: number, status?: V1Pod["status"]): V1Pod => ({
  metadata: { name, namespace: "ns", uid: `uid-${name}`, creationTimestamp: new Date(created) },
  spec: { nodeName: "esx-01", containers: [{ name: "c", image: "nginx", resources: { requests: { cpu } } }] },
  status,
});

describe("a pass of the Spherelet's pod loop", () => {
  it("admits oldest first, rejects what no longer fits, and gives each admitted pod its own IP", () => {
    const pass = planHost(
      host,
      [pod("b", "600m", 2), pod("a", "600m", 1), pod("c", "300m", 3)],
      now,
      () => 0,
    );
    const by = Object.fromEntries(pass.actions.map((a) => [a.pod.metadata?.name, a]));
    expect(by.a).toMatchObject({ kind: "status", status: { phase: "Running", podIP: "10.128.0.2" } });
    expect(by.b).toMatchObject({
      kind: "status",
      status: { phase: "Failed", reason: "OutOfcpu" },
      rejected: {},
    });
    expect(by.c).toMatchObject({ kind: "status", status: { phase: "Running", podIP: "10.128.0.3" } });
    expect(pass.wakeAt).toBeUndefined();
  });

  it("keeps a pod Pending until its start delay is over, and says when to look again", () => {
    const first = planHost(host, [pod("a", "100m", 1)], now, () => 2000);
    expect(first.actions[0]).toMatchObject({ kind: "status", status: { phase: "Pending" } });
    expect(first.wakeAt).toBe(now.getTime() + 2000);
    const pending = first.actions[0]?.kind === "status" ? first.actions[0].status : undefined;
    const again = planHost(host, [pod("a", "100m", 1, pending)], new Date(now.getTime() + 500), () => 2000);
    expect(again.actions).toEqual([]);
    const due = planHost(host, [pod("a", "100m", 1, pending)], new Date(now.getTime() + 2000), () => 2000);
    expect(due.actions[0]).toMatchObject({ kind: "status", status: { phase: "Running" } });
  });

  it("finishes deletions and leaves terminal pods alone", () => {
    const deleting = {
      ...pod("d", "100m", 1),
      metadata: { ...pod("d", "100m", 1).metadata, deletionTimestamp: now },
    };
    const pass = planHost(host, [deleting, pod("done", "100m", 2, { phase: "Succeeded" })], now, () => 0);
    expect(pass.actions.map((a) => `${a.kind} ${a.pod.metadata?.name}`)).toEqual(["finishDeletion d"]);
  });
});

describe("a Job's pod in the Spherelet's pass", () => {
  const job = (status?: V1Pod["status"], runTime?: string): V1Pod => {
    const p = pod("j", "100m", 1, status);
    return {
      ...p,
      metadata: {
        ...p.metadata,
        annotations: runTime ? { "vsphere.pacific.dev/pod-run-time": runTime } : {},
      },
      spec: { ...p.spec, containers: p.spec?.containers ?? [], restartPolicy: "Never" },
    };
  };

  it("starts Running and asks to be woken when its run time is over", () => {
    const pass = planHost(host, [job(undefined, "5s")], now, () => 0);
    expect(pass.actions[0]).toMatchObject({ kind: "status", status: { phase: "Running" } });
    expect(pass.wakeAt).toBe(now.getTime() + 5000);
  });

  it("ends Succeeded at start + delay + run time, not before", () => {
    const started = planHost(host, [job(undefined, "5s")], now, () => 0).actions[0];
    const status = started?.kind === "status" ? started.status : undefined;
    const early = planHost(host, [job(status, "5s")], new Date(now.getTime() + 4000), () => 0);
    expect(early.actions).toEqual([]);
    expect(early.wakeAt).toBe(now.getTime() + 5000);
    const done = planHost(host, [job(status, "5s")], new Date(now.getTime() + 5000), () => 0);
    expect(done.actions[0]).toMatchObject({ kind: "status", status: { phase: "Succeeded" } });
    expect(done.wakeAt).toBeUndefined();
  });
});
