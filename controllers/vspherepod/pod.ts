// The Pod a VSpherePod runs as, and the status it mirrors back. Pure functions.
import type { V1Pod, V1PodSpec, V1Toleration } from "@kubernetes/client-node";
import { HOST_REJECTION_REASONS, TEMPLATE_HASH_ANNOTATION, VSPHEREPOD_LABEL } from "../api/contracts.ts";
import { type VSpherePod, VSpherePodResource, type VSpherePodStatus } from "../api/vsphere/vspherepod.ts";
import { markFalse, markTrue } from "../runtime/conditions.ts";
import { controllerRef } from "../runtime/owner.ts";
import { apiVersionOf } from "../runtime/resource.ts";
import { stableHash } from "../settings.ts";
import { PROVIDER_TOLERATION } from "../shared/placement/inventory.ts";

/**
 * Reasons a host gives for refusing a pod at admission (kubelet's, and the host's own: maintenance
 * mode, cordoned): the pod is placed again.
 */
export const ADMISSION_REJECTIONS: string[] = [
  "OutOfcpu",
  "OutOfmemory",
  "OutOfpods",
  ...HOST_REJECTION_REASONS,
];

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
        [VSPHEREPOD_LABEL]: vpod.metadata.name ?? "",
      },
      annotations: {
        ...(t.metadata?.annotations as Record<string, string> | undefined),
        [TEMPLATE_HASH_ANNOTATION]: templateHash(vpod),
      },
      ownerReferences: [
        controllerRef({
          apiVersion: apiVersionOf(VSpherePodResource),
          kind: VSpherePodResource.kind,
          metadata: vpod.metadata,
        }),
      ],
    },
    spec: { ...spec, nodeName: host, tolerations },
  };
}

/** A working copy of the status the condition helpers stamp with the VSpherePod's generation. */
function working(vpod: VSpherePod, status: VSpherePodStatus) {
  return { metadata: vpod.metadata, status };
}

/** The status of a VSpherePod whose pod exists. */
export function mirroredStatus(vpod: VSpherePod, pod: V1Pod, now: Date): VSpherePodStatus {
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  const host = pod.spec?.nodeName;
  const phase = (pod.status?.phase ?? "Pending") as VSpherePodStatus["phase"];
  const w = working(vpod, {
    ...vpod.status,
    observedGeneration: vpod.metadata.generation,
    phase,
    hostName: host,
    podName: pod.metadata?.name,
    podIP: pod.status?.podIP,
    hostIP: pod.status?.hostIP,
  });
  markTrue(w, "Placed", "Placed", `running on ESXi host ${host}`, now);
  if (phase === "Failed")
    markFalse(w, "Ready", pod.status?.reason || "PodFailed", pod.status?.message ?? "", now);
  else if (ready?.status === "True") markTrue(w, "Ready", "PodReady", "", now);
  else markFalse(w, "Ready", ready?.reason || "PodNotReady", ready?.message ?? `pod is ${phase}`, now);
  return w.status;
}

/** The status of a VSpherePod with no pod: not placed (yet), and why. */
export function unplacedStatus(
  vpod: VSpherePod,
  reason: string,
  message: string,
  now: Date,
): VSpherePodStatus {
  const w = working(vpod, {
    ...vpod.status,
    observedGeneration: vpod.metadata.generation,
    phase: "Pending",
    hostName: undefined,
    podIP: undefined,
    hostIP: undefined,
  });
  markFalse(w, "Placed", reason, message, now);
  markFalse(w, "Ready", reason, message, now);
  return w.status;
}

/** A pod the host refused at admission (it raced with another placement). */
export function rejectedByHost(pod: V1Pod): boolean {
  return pod.status?.phase === "Failed" && ADMISSION_REJECTIONS.includes(pod.status.reason ?? "");
}
