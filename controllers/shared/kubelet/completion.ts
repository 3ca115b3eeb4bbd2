// Pods that run to completion (a Job's, a Helm hook's): restartPolicy Never or OnFailure. Their
// simulated containers exit 0 after the start delay plus a run time (the pod's annotation
// vsphere.pacific.dev/pod-run-time, default 0: done as soon as it started), and the pod ends
// Succeeded, so kube-controller-manager's Job controller completes the Job. Pure functions.
import type { V1Pod, V1PodStatus } from "@kubernetes/client-node";
import { SimulationAnnotations } from "../../api/contracts.ts";
import { durationOr } from "../../settings.ts";
import { terminatedStatus } from "./pod.ts";

/** A pod whose containers are not restarted once they exit 0: it ends Succeeded. */
export function runsToCompletion(pod: V1Pod): boolean {
  const p = pod.spec?.restartPolicy;
  return p === "Never" || p === "OnFailure";
}

/** How long the containers run once started (a malformed annotation counts as 0). */
export function runTimeMs(pod: V1Pod): number {
  return durationOr(pod.metadata?.annotations?.[SimulationAnnotations.podRunTime], 0);
}

/** When a run-to-completion pod's containers exit: start time + start delay + run time (ms since epoch). */
export function completionTime(pod: V1Pod, startDelayMs: number): number {
  const start = pod.status?.startTime ? new Date(pod.status.startTime as unknown as string).getTime() : 0;
  return start + startDelayMs + runTimeMs(pod);
}

/** Every container terminated with exit code 0 (Completed), the pod Succeeded, its IPs kept. */
export function succeededStatus(pod: V1Pod, now: Date): V1PodStatus {
  return { ...terminatedStatus(pod, now), phase: "Succeeded" };
}
