// What the Spherelet does with the pods bound to its host, as a kubelet would. Pure functions.
import type { V1ContainerStatus, V1Pod, V1PodCondition, V1PodStatus } from "@kubernetes/client-node";
import { rfc3339 } from "../../runtime/conditions.ts";
import { podRequests, type Resources } from "../quantity.ts";

/** The Spherelet has taken the pod on (kubelet admission passed, or it already ran or ended). */
export function isAdmitted(p: V1Pod): boolean {
  return !!p.status?.hostIP || ["Running", "Succeeded", "Failed"].includes(p.status?.phase ?? "");
}

export function isTerminalPod(p: V1Pod): boolean {
  return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
}

export type Admission =
  | { ok: true }
  | { ok: false; reason: "OutOfcpu" | "OutOfmemory" | "OutOfpods"; message: string };

/** Kubelet admission: the pod must fit beside the pods already admitted. */
export function admit(allocatable: Resources, used: Resources, pod: V1Pod): Admission {
  const want = podRequests(pod.spec);
  const check = (
    res: "cpu" | "memory" | "pods",
    req: number,
    use: number,
    cap: number,
  ): Admission | undefined =>
    req > 0 && use + req > cap
      ? {
          ok: false,
          reason: res === "cpu" ? "OutOfcpu" : res === "memory" ? "OutOfmemory" : "OutOfpods",
          message: `Pod was rejected: Node didn't have enough resource: ${res}, requested: ${req}, used: ${use}, capacity: ${cap}`,
        }
      : undefined;
  return (
    check("pods", want.pods, used.pods, allocatable.pods) ??
    check("cpu", want.cpuMilli, used.cpuMilli, allocatable.cpuMilli) ??
    check("memory", want.memory, used.memory, allocatable.memory) ?? { ok: true }
  );
}

/** The lowest free address of `cidr` for a pod (skipping network, gateway .1 and broadcast). */
export function allocatePodIP(cidr: string, used: Set<string>): string | undefined {
  const [base, bitsText] = cidr.split("/");
  const bits = Number(bitsText);
  const start = (base ?? "").split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - bits);
  for (let i = 2; i < size - 1; i++) {
    const n = start + i;
    const ip = [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
    if (!used.has(ip)) return ip;
  }
  return undefined;
}

function condition(
  type: string,
  status: string,
  now: string,
  old: V1PodStatus | undefined,
  reason?: string,
  message?: string,
): V1PodCondition {
  const prev = old?.conditions?.find((c) => c.type === type);
  const c: V1PodCondition = {
    type,
    status,
    lastProbeTime: null as unknown as Date,
    lastTransitionTime: (prev && prev.status === status ? prev.lastTransitionTime : now) as unknown as Date,
  };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

/** Conditions owned by others (DisruptionTarget from the eviction API, say) are kept. */
function withForeignConditions(own: V1PodCondition[], old: V1PodStatus | undefined): V1PodCondition[] {
  const types = new Set(own.map((c) => c.type));
  return [...own, ...(old?.conditions ?? []).filter((c) => !types.has(c.type))];
}

function containerStatuses(
  pod: V1Pod,
  state: "waiting" | "running" | "terminated",
  now: string,
): V1ContainerStatus[] {
  const old = pod.status?.containerStatuses ?? [];
  return (pod.spec?.containers ?? []).map((c) => {
    const prev = old.find((s) => s.name === c.name);
    const startedAt = (prev?.state?.running?.startedAt as unknown as string | undefined) ?? now;
    const s: V1ContainerStatus = {
      name: c.name,
      image: c.image ?? "",
      imageID: `docker-pullable://${c.image ?? ""}`,
      containerID: state === "waiting" ? undefined : `spherelet://${pod.metadata?.uid}/${c.name}`,
      ready: state === "running",
      started: state === "running",
      restartCount: prev?.restartCount ?? 0,
      state:
        state === "waiting"
          ? { waiting: { reason: "ContainerCreating" } }
          : state === "running"
            ? { running: { startedAt: startedAt as unknown as Date } }
            : {
                terminated: {
                  exitCode: 0,
                  reason: "Completed",
                  startedAt: startedAt as unknown as Date,
                  finishedAt: now as unknown as Date,
                },
              },
    };
    return s;
  });
}

/** An admitted pod: Pending with containers being created, or Running with every container ready. */
function activeStatus(pod: V1Pod, hostIP: string, podIP: string, now: Date, running: boolean): V1PodStatus {
  const t = rfc3339(now);
  const old = pod.status;
  const ready = running ? "True" : "False";
  const [reason, message] = running
    ? [undefined, undefined]
    : ["ContainersNotReady", "containers are being created"];
  return {
    phase: running ? "Running" : "Pending",
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: (old?.startTime ?? t) as unknown as Date,
    qosClass: old?.qosClass,
    conditions: withForeignConditions(
      [
        condition("PodReadyToStartContainers", ready, t, old),
        condition("Initialized", "True", t, old),
        condition("Ready", ready, t, old, reason, message),
        condition("ContainersReady", ready, t, old, reason, message),
        condition("PodScheduled", "True", t, old),
      ],
      old,
    ),
    containerStatuses: containerStatuses(pod, running ? "running" : "waiting", t),
  };
}

/** Admitted, containers being created. */
export function pendingStatus(pod: V1Pod, hostIP: string, podIP: string, now: Date): V1PodStatus {
  return activeStatus(pod, hostIP, podIP, now, false);
}

/** Every container running and ready. */
export function runningStatus(pod: V1Pod, hostIP: string, podIP: string, now: Date): V1PodStatus {
  return activeStatus(pod, hostIP, podIP, now, true);
}

/** Rejected by admission: Failed with the kubelet's reason (OutOfcpu, ...). */
export function rejectedStatus(pod: V1Pod, reason: string, message: string, now: Date): V1PodStatus {
  return {
    phase: "Failed",
    reason,
    message,
    startTime: (pod.status?.startTime ?? rfc3339(now)) as unknown as Date,
    conditions: pod.status?.conditions,
  };
}

/** Containers stopped for deletion (graceful termination ends here). */
export function terminatedStatus(pod: V1Pod, now: Date): V1PodStatus {
  const t = rfc3339(now);
  const old = pod.status;
  return {
    ...old,
    conditions: withForeignConditions(
      [
        condition("Ready", "False", t, old, "PodCompleted", ""),
        condition("ContainersReady", "False", t, old, "PodCompleted", ""),
      ],
      old,
    ),
    containerStatuses: containerStatuses(pod, "terminated", t),
  };
}

/** Running, but something (the node lifecycle controller during an outage) marked it not ready. */
export function needsReadyAgain(pod: V1Pod): boolean {
  return (
    pod.status?.phase === "Running" &&
    pod.status.conditions?.find((c) => c.type === "Ready")?.status !== "True"
  );
}
