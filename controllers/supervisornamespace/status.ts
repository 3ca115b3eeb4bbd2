// The status of a configured Supervisor Namespace, from what the reconcile learnt. Pure.
import type { V1ResourceQuota } from "@kubernetes/client-node";
import type { StorageClassBinding } from "../api/vsphere/storageclassbinding.ts";
import type { SupervisorNamespace, SupervisorNamespaceStatus } from "../api/vsphere/supervisornamespace.ts";
import { isConditionTrue } from "../runtime/conditions.ts";
import { desiredQuota } from "./children.ts";

/** A condition to set: True, or False with a reason and a message. */
export interface Verdict {
  ok: boolean;
  reason: string;
  message: string;
}

/** The bindings of `namespace` whose class is bound (Bound=True). */
export function boundBindings(bindings: StorageClassBinding[], namespace: string): StorageClassBinding[] {
  return bindings.filter(
    (b) => b.spec.namespace === namespace && isConditionTrue(b.status?.conditions, "Bound"),
  );
}

type Usage = NonNullable<SupervisorNamespaceStatus["usage"]>;

const usageFrom = (used: Record<string, string>): Usage => ({
  cpu: used["limits.cpu"],
  memory: used["limits.memory"],
  storage: used["requests.storage"],
  pods: used["count/pods"],
});

/**
 * Usage as the quota counts it, once kube-controller-manager has (status.used). Before that: for a
 * Namespace this reconcile has just made, 0 of each limit (nothing is in it yet, and that is what the
 * count will say: no second status write when it comes); otherwise what was reported before (not
 * counted yet is not "none used").
 */
export function usageOf(
  quota: V1ResourceQuota | undefined,
  hard: Record<string, string> | undefined,
  previous: Usage | undefined,
  freshNamespace: boolean,
): Usage {
  const used = quota?.status?.used;
  if (used) return usageFrom(used);
  if (!hard) return usageFrom({}); // no quota: nothing is counted
  if (freshNamespace) return usageFrom(Object.fromEntries(Object.keys(hard ?? {}).map((k) => [k, "0"])));
  return previous ?? usageFrom({});
}

/** Everything but the conditions: usage from the quota, the bound classes, the VM classes copied. */
export function runningStatus(
  svns: SupervisorNamespace,
  bindings: StorageClassBinding[],
  quota: V1ResourceQuota | undefined,
  vmClasses: string[],
  freshNamespace = false,
): Omit<SupervisorNamespaceStatus, "conditions"> {
  return {
    observedGeneration: svns.metadata.generation,
    configStatus: "Running",
    namespace: svns.metadata.name,
    encrypted: svns.spec.encryption,
    usage: usageOf(quota, desiredQuota(svns)?.spec?.hard, svns.status?.usage, freshNamespace),
    storageClasses: bindings.map((b) => ({
      name: b.spec.storageClass,
      limit: String(b.spec.limit),
      used: b.status?.used,
    })),
    vmClasses,
  };
}

/** VMClassesReady: every class asked for is in the catalogue. */
export function vmClassesVerdict(copied: number, unknown: string[]): Verdict {
  return unknown.length
    ? { ok: false, reason: "UnknownVMClass", message: `not in the VM class catalogue: ${unknown.join(", ")}` }
    : { ok: true, reason: "Copied", message: `${copied} VM class(es) available` };
}

/** VMClassesReady when the cluster has no VirtualMachineClass API: only a problem if classes are asked for. */
export function vmServiceUnavailableVerdict(svns: SupervisorNamespace): Verdict {
  return svns.spec.vmClasses?.length
    ? {
        ok: false,
        reason: "VMServiceUnavailable",
        message:
          "the VirtualMachineClass API (vmoperator.vmware.com/v1alpha3) is not installed: install the chart with crds.vmOperator=true, or VM Operator",
      }
    : vmClassesVerdict(0, []);
}

/** The message of NamespaceConflict: a Namespace of that name that Pacific did not make. */
export const namespaceConflictMessage = (name: string) =>
  `Namespace ${name} already exists and was not made for this SupervisorNamespace; Pacific will not adopt it`;
