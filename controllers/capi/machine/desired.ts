// The Machine controller's decisions, as pure functions: the VirtualMachine a Machine gets (from the
// VM template its owner put on it) and the Machine's status as its VM makes it — Cluster API phases
// Pending → Provisioning (VM created, booting) → Running (powered on with an address; the simulated
// node has joined). Its conditions are Cluster API v1beta1's (runtime/capiconditions.ts): a VM
// still starting is False with severity Info, a VM that cannot start False with Warning.
import { type Machine, MachineApiVersion, type MachineStatus } from "../../api/cluster/machine.ts";
import { CapiLabels, VMTemplateAnnotations } from "../../api/contracts.ts";
import { type VirtualMachine, VirtualMachineApiVersion } from "../../api/vmoperator/virtualmachine.ts";
import {
  type NewV1Beta1Condition,
  setV1Beta1Conditions,
  type V1Beta1Condition,
} from "../../runtime/capiconditions.ts";
import { type Condition, findCondition } from "../../runtime/conditions.ts";
import { apiStatus } from "../../runtime/errors.ts";
import { controllerRef } from "../../runtime/owner.ts";

/** The VirtualMachine for a Machine. */
export function desiredVM(m: Machine): VirtualMachine {
  const a = m.metadata.annotations ?? {};
  const labels = m.metadata.labels ?? {};
  const cp = labels[CapiLabels.controlPlane] !== undefined;
  const deployment = labels[CapiLabels.deploymentName];
  return {
    apiVersion: VirtualMachineApiVersion,
    kind: "VirtualMachine",
    metadata: {
      name: m.metadata.name,
      namespace: m.metadata.namespace,
      labels: {
        [CapiLabels.clusterName]: m.spec.clusterName,
        [CapiLabels.capvClusterName]: m.spec.clusterName,
        [CapiLabels.capvClusterRole]: cp ? "controlplane" : "node",
        ...(cp ? { [CapiLabels.controlPlane]: "" } : {}),
        ...(deployment ? { [CapiLabels.deploymentName]: deployment } : {}),
      },
      ownerReferences: [
        controllerRef({ apiVersion: MachineApiVersion, kind: "Machine", metadata: m.metadata }),
      ],
    },
    spec: {
      className: a[VMTemplateAnnotations.className] ?? "",
      imageName: a[VMTemplateAnnotations.imageName],
      storageClass: a[VMTemplateAnnotations.storageClass],
      powerState: "PoweredOn",
      powerOffMode: "TrySoft",
      suspendMode: "TrySoft",
      restartMode: "TrySoft",
    },
  };
}

/** The VM named like `m`, when it is `m`'s (a VM with other owners is someone else's). */
export function ownVM(m: Machine, vm: VirtualMachine | undefined): VirtualMachine | undefined {
  const refs = vm?.metadata.ownerReferences;
  return refs?.every((r) => r.uid !== m.metadata.uid) ? undefined : vm;
}

/** The infrastructure's identifier of the machine, once its VM has a BIOS UUID. */
export function providerIDOf(vm: VirtualMachine | undefined): string | undefined {
  return vm?.status?.biosUUID ? `vsphere://${vm.status.biosUUID}` : undefined;
}

/** Why the API server would not create a Machine's VM, when retrying at once cannot help. */
export interface Refusal {
  reason: "QuotaExceeded" | "VirtualMachineInvalid" | "AlreadyExists";
  message: string;
}

/**
 * A create error as a Refusal: the namespace's ResourceQuota (403 "exceeded quota: …"), an invalid
 * VM (422), or a VM of that name made meanwhile. Anything else (RBAC settling, the API server
 * restarting) is left to the controller's backoff.
 */
export function refusalOf(e: unknown): Refusal | undefined {
  const s = apiStatus(e);
  if (s.reason === "AlreadyExists") return { reason: "AlreadyExists", message: s.message };
  if (s.code === 403 && s.message.includes("exceeded quota"))
    return { reason: "QuotaExceeded", message: s.message };
  if (s.code === 422) return { reason: "VirtualMachineInvalid", message: s.message };
  return undefined;
}

function infrastructureCondition(
  vm: VirtualMachine | undefined,
  running: boolean,
  refused: Refusal | undefined,
): NewV1Beta1Condition {
  if (refused && !vm)
    return {
      type: "InfrastructureReady",
      status: "False",
      severity: "Warning",
      reason: refused.reason,
      message: refused.message,
    };
  if (running)
    return {
      type: "InfrastructureReady",
      status: "True",
      reason: "Ready",
      message: `VirtualMachine on ${vm?.status?.host}`,
    };
  const vmReady = findCondition(vm?.status?.conditions as Condition[] | undefined, "Ready");
  if (vmReady?.status === "False")
    return {
      type: "InfrastructureReady",
      status: "False",
      severity: "Warning",
      reason: vmReady.reason,
      message: vmReady.message,
    };
  return vm
    ? {
        type: "InfrastructureReady",
        status: "False",
        severity: "Info",
        reason: "Provisioning",
        message: "the VirtualMachine is starting",
      }
    : { type: "InfrastructureReady", status: "False", severity: "Info", reason: "WaitingForInfrastructure" };
}

/** The Machine's status as its VM makes it. */
export function machineStatus(m: Machine, vm: VirtualMachine | undefined, refused?: Refusal): MachineStatus {
  const ip = vm?.status?.network?.primaryIP4;
  const running = vm?.status?.powerState === "PoweredOn" && !!ip;
  const status: MachineStatus = {
    ...m.status,
    observedGeneration: m.metadata.generation,
    bootstrapReady: true,
    infrastructureReady: running,
    phase: !vm ? "Pending" : running ? "Running" : "Provisioning",
  };
  if (running && ip) {
    const name = m.metadata.name ?? "";
    status.nodeRef = { apiVersion: "v1", kind: "Node", name };
    status.addresses = [
      { type: "InternalIP", address: ip },
      { type: "Hostname", address: name },
    ];
  }
  const infra = infrastructureCondition(vm, running, refused);
  status.conditions = setV1Beta1Conditions(m.status?.conditions as V1Beta1Condition[] | undefined, [
    { type: "BootstrapReady", status: "True" },
    infra,
    { ...infra, type: "Ready" },
  ]) as MachineStatus["conditions"];
  return status;
}
