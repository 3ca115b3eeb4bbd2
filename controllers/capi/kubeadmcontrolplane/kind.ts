// The KubeadmControlPlane as a machine owner: its template is spec.machineTemplate, its machines
// carry the control-plane labels, it adds and removes one member at a time, and its status reports
// initialized, ready and the version the control plane as a whole runs.
//
// Where a guest control plane really runs (guestClustersRuntime `local`, docs/guest-clusters.md),
// initialized, ready and the Available condition follow what the guest's API server answers on
// /readyz (the guest-cluster controller's annotation on the KCP), as upstream's KCP follows its
// workload cluster: initialized once it answered (and sticky, as upstream's), ready and Available
// while it answers. With `none` nothing answers, and a running member is all there is to follow.
import { CapiLabels, GuestAnnotations } from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneApiVersion,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import type { NewV1Beta1Condition } from "../../runtime/capiconditions.ts";
import { type GuestRuntimeKind, hasGuestControlPlane } from "../../shared/guestruntime.ts";
import type { MachineCounts, MachineOwnerKind } from "../../shared/machineowner.ts";

/** True when the guest-cluster controller last saw the guest API server answer /readyz. */
export const guestAnswers = (k: KubeadmControlPlane): boolean =>
  k.metadata.annotations?.[GuestAnnotations.apiServerReady] === "True";

/** initialized and ready: from the members alone (no guest), or from the members and the guest. */
export function controlPlaneState(
  runtime: GuestRuntimeKind,
  k: KubeadmControlPlane,
  counts: MachineCounts,
): { initialized: boolean; ready: boolean } {
  const member = counts.ready.length > 0;
  if (!hasGuestControlPlane(runtime)) return { initialized: member, ready: member };
  const up = member && guestAnswers(k);
  return { initialized: k.status?.initialized === true || up, ready: up };
}

/** Available (v1beta1): True while the guest API server answers; why not, else. Only with a guest. */
export function availableCondition(
  runtime: GuestRuntimeKind,
  k: KubeadmControlPlane,
  counts: MachineCounts,
): NewV1Beta1Condition[] {
  if (!hasGuestControlPlane(runtime)) return [];
  const { initialized, ready } = controlPlaneState(runtime, k, counts);
  if (ready) return [{ type: "Available", status: "True" }];
  if (!initialized)
    return [
      {
        type: "Available",
        status: "False",
        severity: "Info",
        reason: "WaitingForKubeadmInit",
        message: counts.ready.length
          ? "waiting for the guest API server to answer /readyz"
          : "waiting for the first control-plane machine",
      },
    ];
  return [
    {
      type: "Available",
      status: "False",
      severity: "Warning",
      reason: "APIServerNotReady",
      message: counts.ready.length
        ? "the guest API server does not answer /readyz"
        : "no control-plane machine is running",
    },
  ];
}

export function kcpKindFor(runtime: GuestRuntimeKind): MachineOwnerKind<KubeadmControlPlane> {
  return {
    resource: KubeadmControlPlaneResource,
    apiVersion: KubeadmControlPlaneApiVersion,
    controlPlane: true,
    selectorLabel: CapiLabels.controlPlaneName,
    readyAlias: "MachinesReady",
    template(k) {
      return {
        cluster: k.metadata.labels?.[CapiLabels.clusterName] ?? "",
        replicas: k.spec.replicas,
        version: k.spec.version,
        labels: {
          ...(k.spec.machineTemplate.metadata?.labels as Record<string, string>),
          [CapiLabels.controlPlane]: "",
          [CapiLabels.controlPlaneName]: k.metadata.name ?? "",
        },
        annotations: { ...(k.spec.machineTemplate.metadata?.annotations as Record<string, string>) },
      };
    },
    kindStatus(_t, counts, k) {
      const versions = counts.ready.map((m) => m.spec.version ?? "").sort();
      return {
        ...controlPlaneState(runtime, k, counts),
        // The oldest version a running member has: what the control plane as a whole runs.
        ...(versions.length ? { version: versions[0] } : {}),
      };
    },
    kindConditions: (k, counts) => availableCondition(runtime, k, counts),
  };
}

/** Without a guest control plane (runtime none): today's behaviour, what the benchmarks run. */
export const kcpKind = kcpKindFor("none");
