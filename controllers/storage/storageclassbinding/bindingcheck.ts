// What a StorageClassBinding may act on, decided before it writes anything. Pure; unit-tested.
import type { V1Namespace, V1StorageClass } from "@kubernetes/client-node";
import { CSI_DRIVER } from "../../api/contracts.ts";
import type { StorageClassBinding } from "../../api/vsphere/storageclassbinding.ts";
import type { SupervisorNamespace } from "../../api/vsphere/supervisornamespace.ts";
import { isControlledBy } from "../../runtime/owner.ts";

export interface Refusal {
  reason: string;
  message: string;
}

/**
 * A binding acts only on a Namespace Pacific made for the SupervisorNamespace: one that existed
 * before (NamespaceConflict) is not Pacific's, and no quota is written into it (finding 12).
 */
export function namespaceRefusal(
  svns: SupervisorNamespace,
  ns: V1Namespace | undefined,
): Refusal | undefined {
  if (!ns || isControlledBy(ns.metadata, svns.metadata.uid)) return undefined;
  return {
    reason: "NamespaceNotOwned",
    message: `namespace ${svns.metadata.name} was not made for SupervisorNamespace ${svns.metadata.name} (NamespaceConflict); Pacific binds storage only to namespaces it manages`,
  };
}

/** A StorageClass is a vSphere storage policy only when the vSphere CSI driver provisions it (finding 13). */
export function classRefusal(sc: V1StorageClass): Refusal | undefined {
  if (sc.provisioner === CSI_DRIVER) return undefined;
  return {
    reason: "NotVSphereStorageClass",
    message: `storage class ${sc.metadata?.name} is provisioned by ${sc.provisioner}, not by the vSphere CSI driver ${CSI_DRIVER}: it is no vSphere storage policy`,
  };
}

/** The reason of the binding's Bound condition as last written (an event is sent when it changes). */
export const boundReason = (b: StorageClassBinding): string | undefined =>
  b.status?.conditions?.find((c) => c.type === "Bound")?.reason;

/**
 * A new binding whose Supervisor Namespace has not been configured yet (no configStatus: its first
 * reconcile, which makes the Namespace, has not finished) waits without writing a status: a
 * NamespaceNotReady that the next second replaces by Bound is one API write per binding that says
 * nothing. Once the binding has a status, or the Supervisor Namespace has been configured and its
 * Namespace is still missing, NamespaceNotReady is reported as before.
 */
export function awaitingFirstConfiguration(b: StorageClassBinding, svns: SupervisorNamespace): boolean {
  return b.status === undefined && svns.status?.configStatus === undefined;
}
