// The MachineDeployment as a machine owner: its template is spec.template, its machines carry the
// deployment-name label and may all be made at once, and its status reports available replicas and
// a phase (ScalingUp, ScalingDown, Running).

import {
  type MachineDeployment,
  MachineDeploymentApiVersion,
  MachineDeploymentResource,
} from "../../api/cluster/machinedeployment.ts";
import { CapiLabels } from "../../api/contracts.ts";
import type { MachineOwnerKind } from "../../shared/machineowner.ts";

export const mdKind: MachineOwnerKind<MachineDeployment> = {
  resource: MachineDeploymentResource,
  apiVersion: MachineDeploymentApiVersion,
  controlPlane: false,
  selectorLabel: CapiLabels.deploymentName,
  readyAlias: "Available",
  template(d) {
    return {
      cluster: d.spec.clusterName,
      replicas: d.spec.replicas,
      version: d.spec.template.spec?.version,
      labels: {
        ...(d.spec.template.metadata?.labels as Record<string, string>),
        [CapiLabels.deploymentName]: d.metadata.name ?? "",
      },
      annotations: { ...(d.spec.template.metadata?.annotations as Record<string, string>) },
      failureDomain: d.spec.template.spec?.failureDomain,
    };
  },
  kindStatus(t, { live, ready, allReady }) {
    return { availableReplicas: ready.length, phase: phaseOf(live.length, t.replicas, allReady) };
  },
};

export function phaseOf(live: number, replicas: number, allReady: boolean): string {
  if (live > replicas) return "ScalingDown";
  return live === replicas && allReady ? "Running" : "ScalingUp";
}
