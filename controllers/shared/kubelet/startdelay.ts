// How long a pod takes from admitted to Running: the settings' delay, or the pod's own annotations',
// with a jitter stable per pod uid. Every node agent's pods start the same way.
import type { V1Pod } from "@kubernetes/client-node";
import { SimulationAnnotations } from "../../api/contracts.ts";
import { delayWithJitter, durationOr, type SimulationSettings } from "../../settings.ts";

export function startDelay(pod: V1Pod, settings: SimulationSettings): number {
  const a = pod.metadata?.annotations ?? {};
  const delay = durationOr(a[SimulationAnnotations.podStartDelay], settings.podStartDelayMs);
  const jitter = durationOr(a[SimulationAnnotations.podStartJitter], settings.podStartJitterMs);
  return delayWithJitter(delay, jitter, pod.metadata?.uid ?? "");
}
