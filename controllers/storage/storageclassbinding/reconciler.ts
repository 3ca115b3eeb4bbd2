// The StorageClassBinding reconciler: grants one storage class to one Supervisor Namespace with a
// limit — the StorageClass is created if missing (provisioner csi.vsphere.vmware.com), and a
// ResourceQuota `pacific-storage-<class>` holds <class>.storageclass.storage.k8s.io/requests.storage
// (VM Operator's test of which classes a namespace may use). Bound (and Ready) report the outcome.
// No finalizer: the quota goes with the binding (owner reference), the StorageClass stays.
import type { V1Namespace, V1ResourceQuota, V1StorageClass } from "@kubernetes/client-node";
import { storageQuotaName } from "../../api/contracts.ts";
import {
  type StorageClassBinding,
  StorageClassBindingResource,
} from "../../api/vsphere/storageclassbinding.ts";
import type { SupervisorNamespace } from "../../api/vsphere/supervisornamespace.ts";
import { ensureChild } from "../../runtime/children.ts";
import type { Client } from "../../runtime/client.ts";
import { markFalse, markTrue } from "../../runtime/conditions.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import { ignoreAlreadyExists } from "../../runtime/errors.ts";
import type { EventRecorder } from "../../runtime/events.ts";
import type { Logger } from "../../runtime/log.ts";
import { isControlledBy } from "../../runtime/owner.ts";
import { PatchHelper } from "../../runtime/patchhelper.ts";
import { ResourceQuotas, StorageClasses } from "../../runtime/resource.ts";
import type { Store } from "../../runtime/store.ts";
import { quotaDiff } from "../../shared/quota.ts";
import { boundReason, classRefusal, namespaceRefusal, quietWait } from "./bindingcheck.ts";
import { desiredQuota, desiredStorageClass, isEncrypted, storageQuotaKey } from "./desired.ts";

export interface Caches {
  bindings: Store<StorageClassBinding>;
  svns: Store<SupervisorNamespace>;
  classes: Store<V1StorageClass>;
  quotas: Store<V1ResourceQuota>;
  namespaces: Store<V1Namespace>;
}

/** What the phases learnt: bound (and what the quota counts used), not bound and why, or wait. */
type Outcome =
  | { kind: "bound"; used: string; message: string }
  | { kind: "unbound"; reason: string; message: string; requeueAfter: number }
  | { kind: "wait"; result: Result };

/** Not bound: looked at again in 30 s (or sooner, when what it waits for comes soon). */
const unbound = (reason: string, message: string, requeueAfter = 30_000): Outcome => ({
  kind: "unbound",
  reason,
  message,
  requeueAfter,
});

export class StorageClassBindingReconciler implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly c: Caches,
    private readonly events: Pick<EventRecorder, "event">,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const b = this.c.bindings.get(req.name);
    if (!b || b.metadata.deletionTimestamp) return undefined; // its quota goes with it (owner reference)
    const outcome = await this.reconcileNormal(b, log);
    if (outcome.kind === "wait") return outcome.result;
    return this.writeStatus(b, outcome);
  }

  /** Phases: the Supervisor Namespace, the StorageClass, encryption, the Namespace, the quota. */
  private async reconcileNormal(b: StorageClassBinding, log: Logger): Promise<Outcome> {
    const { namespace, storageClass } = b.spec;
    const svns = this.c.svns.get(namespace);
    if (!svns) {
      const wait = quietWait(b, svns, Date.now()); // its creation wakes this binding (setup.ts)
      if (wait !== undefined) return { kind: "wait", result: { requeueAfter: wait } };
      return unbound("NamespaceNotFound", `there is no SupervisorNamespace ${namespace}`);
    }
    if (svns.metadata.deletionTimestamp)
      return unbound("NamespaceRemoving", `SupervisorNamespace ${namespace} is being removed`);
    const notOwned = namespaceRefusal(svns, this.c.namespaces.get(namespace));
    if (notOwned) return unbound(notOwned.reason, notOwned.message);
    const sc = this.c.classes.get(storageClass) ?? (await this.createStorageClass(b, log));
    if (!sc) return { kind: "wait", result: { requeueAfter: 500 } };
    const foreign = classRefusal(sc);
    if (foreign) {
      if (boundReason(b) !== foreign.reason)
        this.events.event(b, "Warning", foreign.reason, "Bind", foreign.message);
      return unbound(foreign.reason, foreign.message);
    }
    if (svns.spec.encryption && !isEncrypted(sc)) {
      const msg = `SupervisorNamespace ${namespace} requires encryption and storage class ${storageClass} does not encrypt`;
      if (boundReason(b) !== "EncryptionRequired")
        this.events.event(b, "Warning", "EncryptionRequired", "Bind", msg);
      return unbound("EncryptionRequired", msg);
    }
    if (!this.namespaceReady(namespace)) {
      // The Namespace's creation wakes this binding (setup.ts); the requeue is the fallback.
      const wait = quietWait(b, svns, Date.now());
      if (wait !== undefined) return { kind: "wait", result: { requeueAfter: wait } };
      return unbound("NamespaceNotReady", `namespace ${namespace} does not exist yet`, 2_000);
    }
    return this.reconcileQuota(b);
  }

  /**
   * Undefined when another binding of the same class (in another namespace) made it a moment ago:
   * the cache shows it shortly, and that is no failure.
   */
  private async createStorageClass(b: StorageClassBinding, log: Logger): Promise<V1StorageClass | undefined> {
    const made = await this.client.create(StorageClasses, desiredStorageClass(b)).catch(ignoreAlreadyExists);
    if (made) log.info({ kind: "StorageClass", name: b.spec.storageClass }, "created storage class");
    return made;
  }

  /** The Namespace exists and is not being deleted (from the shared cache, not an API call). */
  private namespaceReady(name: string): boolean {
    const ns = this.c.namespaces.get(name);
    return !!ns && !ns.metadata?.deletionTimestamp;
  }

  /** The per-class quota, made or put back; a quota of that class another binding owns: DuplicateBinding. */
  private async reconcileQuota(b: StorageClassBinding): Promise<Outcome> {
    const { namespace, storageClass } = b.spec;
    const current = this.c.quotas.get(namespace, storageQuotaName(storageClass));
    if (current && !isControlledBy(current.metadata, b.metadata.uid))
      return unbound(
        "DuplicateBinding",
        `storage class ${storageClass} is already bound to ${namespace} by another StorageClassBinding`,
      );
    await ensureChild(this.client, ResourceQuotas, desiredQuota(b), current, quotaDiff);
    return {
      kind: "bound",
      used: current?.status?.used?.[storageQuotaKey(storageClass)] ?? "0",
      message: `${storageClass} is available in ${namespace}`,
    };
  }

  /** One status write. Ready mirrors Bound, so `kubectl wait --for=condition=Ready` works as for every kind. */
  private async writeStatus(
    b: StorageClassBinding,
    outcome: Exclude<Outcome, { kind: "wait" }>,
  ): Promise<Result | undefined> {
    const helper = new PatchHelper(this.client, StorageClassBindingResource, b);
    const o = helper.obj;
    o.status = {
      observedGeneration: o.metadata.generation,
      limit: String(o.spec.limit),
      used: outcome.kind === "bound" ? outcome.used : o.status?.used,
      conditions: o.status?.conditions,
    };
    if (outcome.kind === "bound") {
      markTrue(o, "Bound", "Bound", outcome.message);
      markTrue(o, "Ready", "Ready", outcome.message);
    } else {
      markFalse(o, "Bound", outcome.reason, outcome.message);
      markFalse(o, "Ready", outcome.reason, outcome.message);
    }
    await helper.patch();
    return outcome.kind === "bound" ? undefined : { requeueAfter: outcome.requeueAfter };
  }
}
