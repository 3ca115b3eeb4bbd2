import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { completionTime, runsToCompletion, succeededStatus } from "./completion.ts";
import {
  admit,
  allocatePodIP,
  isAdmitted,
  needsReadyAgain,
  pendingStatus,
  runningStatus,
  terminatedStatus,
} from "./pod.ts";

const GiB = 2 ** 30;
const pod = (cpu?: string, memory?: string): V1Pod => ({
  metadata: { name: "p", namespace: "ns", uid: "u1" },
  spec: {
    containers: [
      {
        name: "c",
        image: "nginx",
        resources: { requests: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } },
      },
    ],
  },
});
const alloc = { cpuMilli: 4000, memory: 8 * GiB, pods: 2 };

describe("kubelet-style admission", () => {
  it("admits what fits and names the resource that does not", () => {
    expect(admit(alloc, { cpuMilli: 0, memory: 0, pods: 0 }, pod("1", "1Gi"))).toEqual({ ok: true });
    expect(admit(alloc, { cpuMilli: 3500, memory: 0, pods: 1 }, pod("1"))).toEqual({
      ok: false,
      reason: "OutOfcpu",
      message:
        "Pod was rejected: Node didn't have enough resource: cpu, requested: 1000, used: 3500, capacity: 4000",
    });
    expect(admit(alloc, { cpuMilli: 0, memory: 8 * GiB, pods: 1 }, pod(undefined, "1Mi"))).toMatchObject({
      ok: false,
      reason: "OutOfmemory",
    });
    expect(admit(alloc, { cpuMilli: 0, memory: 0, pods: 2 }, pod())).toMatchObject({
      ok: false,
      reason: "OutOfpods",
    });
  });
});

describe("pod IPs", () => {
  it("hands out the lowest free address, skipping network, gateway and broadcast", () => {
    expect(allocatePodIP("10.128.3.0/24", new Set())).toBe("10.128.3.2");
    expect(allocatePodIP("10.128.3.0/24", new Set(["10.128.3.2", "10.128.3.3"]))).toBe("10.128.3.4");
    const full = new Set(Array.from({ length: 13 }, (_, i) => `10.0.0.${i + 2}`));
    expect(allocatePodIP("10.0.0.0/28", full)).toBeUndefined();
  });
});

describe("pod statuses", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  it("goes Pending (admitted) → Running → terminated, keeping others' conditions", () => {
    const p = pod("100m");
    p.status = { conditions: [{ type: "DisruptionTarget", status: "True" }] };
    const pending = pendingStatus(p, "172.16.0.2", "10.128.0.2", now);
    expect(pending.phase).toBe("Pending");
    expect(isAdmitted({ ...p, status: pending })).toBe(true);
    expect(pending.containerStatuses?.[0]?.state?.waiting?.reason).toBe("ContainerCreating");
    const running = runningStatus({ ...p, status: pending }, "172.16.0.2", "10.128.0.2", now);
    expect(running.phase).toBe("Running");
    expect(running.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    expect(running.conditions?.find((c) => c.type === "DisruptionTarget")?.status).toBe("True");
    expect(running.startTime).toBe(pending.startTime);
    const done = terminatedStatus({ ...p, status: running }, now);
    expect(done.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
  });
  it("wants Ready again after the node lifecycle controller marked a running pod not ready", () => {
    const p = pod();
    p.status = { phase: "Running", conditions: [{ type: "Ready", status: "False" }] };
    expect(needsReadyAgain(p)).toBe(true);
    expect(isAdmitted(pod())).toBe(false);
  });
});

describe("pods that run to completion (Jobs)", () => {
  const job = (restartPolicy: string, runTime?: string): V1Pod => ({
    metadata: {
      name: "j",
      namespace: "ns",
      uid: "u2",
      annotations: runTime ? { "vsphere.pacific.dev/pod-run-time": runTime } : {},
    },
    spec: { restartPolicy, containers: [{ name: "c", image: "busybox" }] },
    status: { phase: "Running", startTime: new Date("2026-01-01T00:00:00Z") },
  });

  it("are the pods with restartPolicy Never or OnFailure", () => {
    expect(runsToCompletion(job("Never"))).toBe(true);
    expect(runsToCompletion(job("OnFailure"))).toBe(true);
    expect(runsToCompletion(job("Always"))).toBe(false);
    expect(runsToCompletion(pod())).toBe(false);
  });

  it("complete at start time + start delay + the annotation's run time (0 without it, or malformed)", () => {
    const start = Date.parse("2026-01-01T00:00:00Z");
    expect(completionTime(job("Never", "1m30s"), 2000)).toBe(start + 2000 + 90_000);
    expect(completionTime(job("Never"), 2000)).toBe(start + 2000);
    expect(completionTime(job("Never", "soon"), 0)).toBe(start);
  });

  it("end Succeeded with every container terminated, exit code 0, Completed", () => {
    const running = {
      ...job("Never"),
      status: runningStatus(job("Never"), "10.0.0.1", "10.128.0.2", new Date()),
    };
    const s = succeededStatus(running, new Date("2026-01-01T00:01:00Z"));
    expect(s.phase).toBe("Succeeded");
    expect(s.podIP).toBe("10.128.0.2");
    expect(s.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    expect(s.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "PodCompleted",
    });
  });
});
