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

/** How long a new binding waits, without a status, for its Supervisor Namespace and Namespace to appear. */
export const NEW_BINDING_GRACE_MS = 5_000;

/**
 * A new binding (never reported: no status) waiting for what is about to appear writes no status: a
 * NamespaceNotFound or NamespaceNotReady that the next second replaces by Bound is one API write per
 * binding that says nothing (bench namespaces: 2.05 status writes per binding). It waits while its
 * Supervisor Namespace is still being configured (no configStatus: the reconcile that makes the
 * Namespace has not finished), and in any case for NEW_BINDING_GRACE_MS after its creation (the
 * Supervisor Namespace or the Namespace made a moment before, not in this cache yet). Returns when
 * to look again (the Namespace's and the Supervisor Namespace's events wake it sooner), or undefined
 * to report now.
 */
export function quietWait(
  b: StorageClassBinding,
  svns: SupervisorNamespace | undefined,
  now: number,
): number | undefined {
  if (b.status !== undefined) return undefined;
  if (svns && !svns.metadata.deletionTimestamp && svns.status?.configStatus === undefined) return 2_000;
  const left = new Date(b.metadata.creationTimestamp ?? 0).getTime() + NEW_BINDING_GRACE_MS - now;
  return left > 0 ? Math.min(2_000, Math.max(100, left)) : undefined;
}
