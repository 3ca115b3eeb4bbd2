// The Pod a VSpherePod runs as, and the status it mirrors back. Pure functions.
import type { V1Pod, V1PodSpec, V1Toleration } from "@kubernetes/client-node";
import type { VSpherePod, VSpherePodStatus } from "../api/vsphere/vspherepod.ts";
import { PROVIDER_TOLERATION } from "../esxihost/node.ts";
import { type NewCondition, setConditions } from "../runtime/conditions.ts";
import { controllerRef } from "../runtime/owner.ts";
import { stableHash } from "../settings.ts";

export const VSPHEREPOD_LABEL = "vsphere.pacific.dev/vspherepod";
export const TEMPLATE_HASH_ANNOTATION = "vsphere.pacific.dev/template-hash";

/** A short hash of the template: a changed template means a new pod. */
export function templateHash(vpod: VSpherePod): string {
  return stableHash(JSON.stringify(vpod.spec.template)).toString(36);
}

export function desiredPod(vpod: VSpherePod, host: string): V1Pod {
  const t = vpod.spec.template;
  const spec = t.spec as unknown as V1PodSpec;
  const tolerations: V1Toleration[] = [...(spec.tolerations ?? [])];
  if (!tolerations.some((x) => x.key === PROVIDER_TOLERATION.key)) tolerations.push(PROVIDER_TOLERATION);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: vpod.metadata.name,
      namespace: vpod.metadata.namespace,
      labels: {
        ...(t.metadata?.labels as Record<string, string> | undefined),
        [VSPHEREPOD_LABEL]: vpod.metadata.name!,
      },
      annotations: {
        ...(t.metadata?.annotations as Record<string, string> | undefined),
        [TEMPLATE_HASH_ANNOTATION]: templateHash(vpod),
      },
      ownerReferences: [
        controllerRef({
          apiVersion: "vsphere.pacific.dev/v1alpha1",
          kind: "VSpherePod",
          metadata: vpod.metadata,
        }),
      ],
    },
    spec: { ...spec, nodeName: host, tolerations },
  };
}

/** The status of a VSpherePod whose pod exists. */
export function mirroredStatus(vpod: VSpherePod, pod: V1Pod, now: Date): VSpherePodStatus {
  const g = vpod.metadata.generation;
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  const host = pod.spec?.nodeName;
  const phase = (pod.status?.phase ?? "Pending") as VSpherePodStatus["phase"];
  const placed: NewCondition = {
    type: "Placed",
    status: "True",
    reason: "Placed",
    message: `running on ESXi host ${host}`,
    observedGeneration: g,
  };
  const readyCond: NewCondition =
    phase === "Failed"
      ? {
          type: "Ready",
          status: "False",
          reason: pod.status?.reason || "PodFailed",
          message: pod.status?.message ?? "",
          observedGeneration: g,
        }
      : ready?.status === "True"
        ? { type: "Ready", status: "True", reason: "PodReady", message: "", observedGeneration: g }
        : {
            type: "Ready",
            status: "False",
            reason: ready?.reason || "PodNotReady",
            message: ready?.message ?? `pod is ${phase}`,
            observedGeneration: g,
          };
  return {
    ...vpod.status,
    observedGeneration: g,
    phase,
    hostName: host,
    podName: pod.metadata?.name,
    podIP: pod.status?.podIP,
    hostIP: pod.status?.hostIP,
    conditions: setConditions(vpod.status?.conditions, [placed, readyCond], now),
  };
}

/** The status of a VSpherePod with no pod: not placed (yet), and why. */
export function unplacedStatus(
  vpod: VSpherePod,
  reason: string,
  message: string,
  now: Date,
): VSpherePodStatus {
  const g = vpod.metadata.generation;
  return {
    ...vpod.status,
    observedGeneration: g,
    phase: "Pending",
    hostName: undefined,
    podIP: undefined,
    hostIP: undefined,
    conditions: setConditions(
      vpod.status?.conditions,
      [
        { type: "Placed", status: "False", reason, message, observedGeneration: g },
        { type: "Ready", status: "False", reason, message, observedGeneration: g },
      ],
      now,
    ),
  };
}
