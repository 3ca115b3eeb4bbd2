// Whether a host takes on new pods at all, before any resource check: an ESXi host in maintenance
// mode powers nothing new on, a cordoned host is being drained, and a host that is not responding
// (its Node not Ready) acts on nothing. Pods bound by hand (spec.nodeName) would otherwise start
// there (issue 19, finding 4). Pure; unit-tested.
import type { V1Node } from "@kubernetes/client-node";
import type { HOST_REJECTION_REASONS } from "../api/contracts.ts";
import type { ESXiHost } from "../api/vsphere/esxihost.ts";
import type { NodeAdmission } from "../shared/kubelet/admission.ts";

/** One of HOST_REJECTION_REASONS when rejected (the VSpherePod controller places it again). */
export type HostAdmission = NodeAdmission<(typeof HOST_REJECTION_REASONS)[number] | "HostNotResponding">;

export function hostAdmission(host: ESXiHost, node: V1Node): HostAdmission {
  const name = host.metadata.name;
  if (host.spec.maintenanceMode || host.status?.inMaintenanceMode)
    return {
      admits: false,
      action: "reject",
      reason: "HostInMaintenanceMode",
      message: `Pod was rejected: ESXi host ${name} is in maintenance mode and runs nothing new`,
    };
  if (node.spec?.unschedulable)
    return {
      admits: false,
      action: "reject",
      reason: "NodeUnschedulable",
      message: `Pod was rejected: node ${name} is cordoned (unschedulable) and admits no new pods`,
    };
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status !== "True")
    return {
      admits: false,
      action: "hold",
      reason: "HostNotResponding",
      message: `ESXi host ${name} is not responding (node Ready is ${ready?.status ?? "missing"})`,
    };
  return { admits: true };
}
