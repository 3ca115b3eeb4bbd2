// The KubeadmControlPlane as a machine owner: its template is spec.machineTemplate, its machines
// carry the control-plane labels, it adds and removes one member at a time, and its status reports
// initialized, ready and the version the control plane as a whole runs.
import { CapiLabels } from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneApiVersion,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import type { MachineOwnerKind } from "../../shared/machineowner.ts";

export const kcpKind: MachineOwnerKind<KubeadmControlPlane> = {
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
  kindStatus(_t, { ready }) {
    const versions = ready.map((m) => m.spec.version ?? "").sort();
    return {
      initialized: ready.length > 0,
      ready: ready.length > 0,
      // The oldest version a running member has: what the control plane as a whole runs.
      ...(versions.length ? { version: versions[0] } : {}),
    };
  },
};
