// The SupervisorNamespace reconciler: makes and owns the Namespace of the same name and its quota,
// default limits, RoleBindings, NetworkPolicy and VM classes; puts back what was changed by hand;
// reports usage from the quota; on deletion removes the Namespace and waits (Removing) until it is
// gone. A Namespace it did not make is never adopted: NamespaceConflict.
import type {
  V1LimitRange,
  V1Namespace,
  V1NetworkPolicy,
  V1ResourceQuota,
  V1RoleBinding,
} from "@kubernetes/client-node";
import {
  DEFAULTS_LIMIT_RANGE_NAME,
  ISOLATION_NETWORK_POLICY_NAME,
  LIMITS_QUOTA_NAME,
  SUPERVISOR_NAMESPACE_FINALIZER,
  WORKLOADS_FINALIZER,
} from "../api/contracts.ts";
import {
  type VirtualMachineClass,
  VirtualMachineClassResource,
  type VirtualMachineClassSpec,
} from "../api/vmoperator/virtualmachineclass.ts";
import type { StorageClassBinding } from "../api/vsphere/storageclassbinding.ts";
import { type SupervisorNamespace, SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import type { ChildDiff } from "../runtime/children.ts";
import { deleteChild, ensureChild } from "../runtime/children.ts";
import type { Client, KubeObject } from "../runtime/client.ts";
import { markFalse, markTrue } from "../runtime/conditions.ts";
import type { Reconciler, Request, Result } from "../runtime/controller.ts";
import { apiStatus, ignoreNotFound, isAlreadyExists } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { ensureFinalizer, removeFinalizer } from "../runtime/finalizers.ts";
import type { Logger } from "../runtime/log.ts";
import { hasFinalizer, isControlledBy } from "../runtime/owner.ts";
import { deepEqual } from "../runtime/patch.ts";
import { PatchHelper, patchStatus } from "../runtime/patchhelper.ts";
import {
  LimitRanges,
  Namespaces,
  NetworkPolicies,
  ResourceQuotas,
  type ResourceType,
  RoleBindings,
} from "../runtime/resource.ts";
import type { Store } from "../runtime/store.ts";
import { quotaDiff } from "../shared/quota.ts";
import { defaultCatalogue } from "../shared/vmclasses.ts";
import {
  desiredLimitRange,
  desiredNamespace,
  desiredNetworkPolicy,
  desiredQuota,
  desiredRoleBindings,
  desiredVMClasses,
} from "./children.ts";
import { limitRangeDiff, specDiff, subjectsDiff } from "./drift.ts";
import { releaseNamespace } from "./release.ts";
import {
  boundBindings,
  namespaceConflictMessage,
  runningStatus,
  type Verdict,
  vmClassesVerdict,
  vmServiceUnavailableVerdict,
} from "./status.ts";

/**
 * Children whose informers hold every object of the kind (setup.ts), so a missing one is never a
 * stranger's to take back — unlike RoleBindings and NetworkPolicies, cached by Pacific's label.
 */
const FULLY_CACHED = new Set([ResourceQuotas.kind, LimitRanges.kind]);

/** The index (by controller owner uid) of the RoleBinding and VirtualMachineClass caches. */
export const OWNER_INDEX = "controllerUid";
/** While the namespace controller empties a Namespace, look again this often. */
const WAIT_FOR_NAMESPACE: Result = { requeueAfter: 2_000 };

/** What the reconciler reads: the shared caches, and the kinds that live in a Supervisor Namespace. */
export interface Caches {
  svns: Store<SupervisorNamespace>;
  bindings: Store<StorageClassBinding>;
  namespaces: Store<V1Namespace>;
  quotas: Store<V1ResourceQuota>;
  limitRanges: Store<V1LimitRange>;
  /** Indexed by OWNER_INDEX. */
  roleBindings: Store<V1RoleBinding>;
  networkPolicies: Store<V1NetworkPolicy>;
  /** Indexed by OWNER_INDEX; absent when the VM Operator API (VirtualMachineClass) is not installed. */
  vmClasses?: Store<VirtualMachineClass>;
  /** The Pacific kinds that live in a Supervisor Namespace (those the cluster serves). */
  workloads: ResourceType[];
}

/** What the VM classes phase learnt. */
interface VMClasses {
  classes: string[];
  verdict: Verdict;
}

export class SupervisorNamespaceReconciler implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly c: Caches,
    private readonly events: Pick<EventRecorder, "event">,
    private readonly catalogue: Record<string, VirtualMachineClassSpec> = defaultCatalogue,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const svns = this.c.svns.get(req.name);
    const ns = this.c.namespaces.get(req.name);
    if (!svns) return this.reconcileOrphan(ns, log);
    if (svns.metadata.deletionTimestamp) return this.reconcileDelete(svns, ns, log);
    // Added before anything is made, so deletion always finds it.
    const held = await ensureFinalizer(
      this.client,
      SupervisorNamespaceResource,
      svns,
      SUPERVISOR_NAMESPACE_FINALIZER,
    );
    if (!hasFinalizer(held.metadata, SUPERVISOR_NAMESPACE_FINALIZER)) return undefined; // gone meanwhile
    return this.reconcileNormal(held, ns, log);
  }

  /**
   * A Namespace whose SupervisorNamespace went first (made by a reconcile that raced the deletion):
   * the garbage collector deletes it, and it is still ours to let go.
   */
  private async reconcileOrphan(ns: V1Namespace | undefined, log: Logger): Promise<Result | undefined> {
    if (!ns?.metadata?.deletionTimestamp || !hasFinalizer(ns.metadata, WORKLOADS_FINALIZER)) return undefined;
    await releaseNamespace(this.client, this.c.workloads, ns, log);
    return WAIT_FOR_NAMESPACE;
  }

  /** Removing: the Namespace is deleted and let go; the finalizer goes once the Namespace has. */
  private async reconcileDelete(
    svns: SupervisorNamespace,
    ns: V1Namespace | undefined,
    log: Logger,
  ): Promise<Result | undefined> {
    if (!hasFinalizer(svns.metadata, SUPERVISOR_NAMESPACE_FINALIZER)) return undefined;
    const status = { ...svns.status, configStatus: "Removing" as const };
    const latest = await patchStatus(this.client, SupervisorNamespaceResource, svns, status);
    if (!latest) return undefined;
    if (ns && isControlledBy(ns.metadata, svns.metadata.uid)) {
      await this.deleteNamespace(ns, log);
      return WAIT_FOR_NAMESPACE; // the namespace controller empties it; we wait
    }
    await removeFinalizer(this.client, SupervisorNamespaceResource, latest, SUPERVISOR_NAMESPACE_FINALIZER);
    return undefined;
  }

  private async deleteNamespace(ns: V1Namespace, log: Logger): Promise<void> {
    const name = ns.metadata?.name ?? "";
    if (ns.metadata?.deletionTimestamp) return releaseNamespace(this.client, this.c.workloads, ns, log);
    await this.client.delete(Namespaces, name).catch(ignoreNotFound);
    log.info({ kind: "Namespace", name }, "deleting namespace");
  }

  /** Phases: the Namespace, its children, the VM classes; then one status write. */
  private async reconcileNormal(
    svns: SupervisorNamespace,
    ns: V1Namespace | undefined,
    log: Logger,
  ): Promise<Result | undefined> {
    const helper = new PatchHelper(this.client, SupervisorNamespaceResource, svns);
    if (ns && !isControlledBy(ns.metadata, svns.metadata.uid)) {
      this.markConflict(helper.obj);
      await helper.patch();
      return undefined;
    }
    const bindings = boundBindings(this.c.bindings.list(), svns.metadata.name ?? "");
    const wait = await this.reconcileNamespace(svns, ns, bindings, log);
    if (wait) return wait;
    const freshNamespace = !ns; // made just now: nothing is in it yet
    const refused = await this.reconcileChildren(svns).then(
      () => undefined,
      (e: unknown) => {
        // A child the API server refuses as invalid is the spec's fault: said on the status, not retried hot.
        const st = apiStatus(e);
        if (st.code === 400 || st.code === 422) return st.message;
        throw e;
      },
    );
    if (refused !== undefined) {
      this.markChildRefused(helper.obj, refused);
      await helper.patch();
      return { requeueAfter: 30_000 };
    }
    const vm = await this.reconcileVMClasses(svns);
    this.markRunning(helper.obj, bindings, vm, freshNamespace);
    await helper.patch();
    return undefined;
  }

  /** The Namespace first: everything else lives in it. A Namespace being deleted is waited for. */
  private async reconcileNamespace(
    svns: SupervisorNamespace,
    ns: V1Namespace | undefined,
    bindings: StorageClassBinding[],
    log: Logger,
  ): Promise<Result | undefined> {
    const want = desiredNamespace(
      svns,
      bindings.map((b) => b.spec.storageClass),
    );
    if (!ns) {
      await this.client.create(Namespaces, want);
      log.info({ kind: "Namespace", name: want.metadata?.name }, "created namespace");
      return undefined;
    }
    if (ns.metadata?.deletionTimestamp) {
      // Deleted by hand: made again once the old one is gone.
      await releaseNamespace(this.client, this.c.workloads, ns, log);
      return WAIT_FOR_NAMESPACE;
    }
    const held = await ensureFinalizer(this.client, Namespaces, ns, WORKLOADS_FINALIZER);
    await ensureChild(this.client, Namespaces, want, held, () => undefined); // labels, annotations, owner
    return undefined;
  }

  /**
   * The children are written in parallel, but the LimitRange before the ResourceQuota: a quota on
   * CPU/memory refuses pods without limits (403), and the LimitRange is what gives them defaults.
   */
  private async reconcileChildren(svns: SupervisorNamespace): Promise<void> {
    const name = svns.metadata.name ?? "";
    await Promise.all([
      (async () => {
        const limits = this.c.limitRanges.get(name, DEFAULTS_LIMIT_RANGE_NAME);
        await this.syncChild(svns, LimitRanges, desiredLimitRange(svns), limits, limitRangeDiff);
        const quota = this.c.quotas.get(name, LIMITS_QUOTA_NAME);
        await this.syncChild(svns, ResourceQuotas, desiredQuota(svns), quota, quotaDiff);
      })(),
      this.syncChild(
        svns,
        NetworkPolicies,
        desiredNetworkPolicy(svns),
        this.c.networkPolicies.get(name, ISOLATION_NETWORK_POLICY_NAME),
        specDiff,
      ),
      this.reconcileRoleBindings(svns),
    ]);
  }

  /** Creates or updates `want`; with nothing wanted, deletes what this SupervisorNamespace made. */
  private async syncChild<T extends KubeObject>(
    svns: SupervisorNamespace,
    rt: ResourceType<T>,
    want: T | undefined,
    current: T | undefined,
    diff: ChildDiff<T>,
  ): Promise<void> {
    if (want) await this.ensureOwnedChild(rt, want, current, diff);
    else await deleteChild(this.client, rt, current, svns.metadata.uid);
  }

  /**
   * ensureChild, and when the object is there but not in the label-selected cache (its label was
   * removed by hand, or someone made one under our name first), take it back: patched to what is
   * wanted, or replaced when its immutable roleRef differs (issue 19, finding 2). Creating it again
   * failed with AlreadyExists forever.
   */
  private async ensureOwnedChild<T extends KubeObject>(
    rt: ResourceType<T>,
    want: T,
    current: T | undefined,
    diff: ChildDiff<T>,
  ): Promise<void> {
    try {
      await ensureChild(this.client, rt, want, current, diff);
    } catch (e) {
      if (current || !isAlreadyExists(e)) throw e;
      // A kind cached in full that the cache misses is one this controller made a moment ago and
      // the informer has not delivered yet: its event brings the namespace back (no read needed).
      if (FULLY_CACHED.has(rt.kind)) return;
      const m = want.metadata ?? {};
      const live = await this.client.get(rt, m.name ?? "", m.namespace);
      const roleRef = (o: T) => (o as { roleRef?: unknown }).roleRef;
      if (!deepEqual(roleRef(live), roleRef(want)))
        await this.client.delete(rt, m.name ?? "", m.namespace).catch(ignoreNotFound); // made again next time
      else await ensureChild(this.client, rt, want, live, diff);
    }
  }

  /** One RoleBinding per access entry (two for an Owner); those no entry asks for any more go. */
  private async reconcileRoleBindings(svns: SupervisorNamespace): Promise<void> {
    const name = svns.metadata.name ?? "";
    const uid = svns.metadata.uid ?? "";
    const want = desiredRoleBindings(svns);
    const wanted = new Set(want.map((rb) => rb.metadata?.name));
    const stale = this.c.roleBindings
      .byIndex(OWNER_INDEX, uid)
      .filter((rb) => !wanted.has(rb.metadata?.name));
    await Promise.all([
      ...want.map(async (rb) => {
        const current = this.c.roleBindings.get(name, rb.metadata?.name ?? "");
        if (current && !deepEqual(current.roleRef, rb.roleRef)) {
          // roleRef is immutable: deleted, and made again on the next visit (its deletion brings one).
          await this.client.delete(RoleBindings, rb.metadata?.name ?? "", name).catch(ignoreNotFound);
          return;
        }
        await this.ensureOwnedChild(RoleBindings, rb, current, subjectsDiff);
      }),
      ...stale.map((rb) => deleteChild(this.client, RoleBindings, rb, uid)),
    ]);
  }

  /** Copies of the catalogue's VM classes, only those the namespace may use; the others go. */
  private async reconcileVMClasses(svns: SupervisorNamespace): Promise<VMClasses> {
    const store = this.c.vmClasses;
    if (!store) return { classes: [], verdict: vmServiceUnavailableVerdict(svns) };
    const name = svns.metadata.name ?? "";
    const uid = svns.metadata.uid ?? "";
    const vm = desiredVMClasses(svns, this.catalogue);
    const wanted = new Set(vm.classes.map((c) => c.metadata.name));
    await Promise.all([
      ...vm.classes.map((want) =>
        ensureChild(
          this.client,
          VirtualMachineClassResource,
          want,
          store.get(name, want.metadata.name ?? ""),
          specDiff,
        ),
      ),
      ...store
        .byIndex(OWNER_INDEX, uid)
        .filter((c) => !wanted.has(c.metadata.name))
        .map((c) => deleteChild(this.client, VirtualMachineClassResource, c, uid)),
    ]);
    return {
      classes: vm.classes.map((c) => c.metadata.name ?? ""),
      verdict: vmClassesVerdict(vm.classes.length, vm.unknown),
    };
  }

  /** Error: a Namespace of that name exists that Pacific did not make (an event the first time). */
  private markConflict(obj: SupervisorNamespace): void {
    const message = namespaceConflictMessage(obj.metadata.name ?? "");
    if (obj.status?.configStatus !== "Error")
      this.events.event(obj, "Warning", "NamespaceConflict", "Configure", message);
    obj.status = { ...obj.status, observedGeneration: obj.metadata.generation, configStatus: "Error" };
    markFalse(obj, "NamespaceReady", "NamespaceConflict", message);
    markFalse(obj, "Ready", "NamespaceConflict", message);
  }

  /** Error: the API server refused a child as invalid; its message is the reason (an event the first time). */
  private markChildRefused(obj: SupervisorNamespace, refusal: string): void {
    const message = `the API server refused a child of this SupervisorNamespace: ${refusal}`;
    if (obj.status?.conditions?.find((c) => c.type === "Ready")?.reason !== "ChildRefused")
      this.events.event(obj, "Warning", "ChildRefused", "Configure", message);
    obj.status = { ...obj.status, observedGeneration: obj.metadata.generation, configStatus: "Error" };
    markFalse(obj, "NamespaceReady", "ChildRefused", message);
    markFalse(obj, "Ready", "ChildRefused", message);
  }

  /** Running: usage, classes and conditions (the status is rebuilt; the conditions keep their times). */
  private markRunning(
    obj: SupervisorNamespace,
    bindings: StorageClassBinding[],
    vm: VMClasses,
    freshNamespace: boolean,
  ): void {
    const name = obj.metadata.name ?? "";
    const quota = this.c.quotas.get(name, LIMITS_QUOTA_NAME);
    obj.status = {
      ...runningStatus(obj, bindings, quota, vm.classes, freshNamespace),
      registry: obj.status?.registry, // the registry controller's (controllers/registry)
      conditions: obj.status?.conditions,
    };
    markTrue(obj, "NamespaceReady", "Created", `namespace ${name} is configured`);
    const { ok, reason, message } = vm.verdict;
    if (ok) markTrue(obj, "VMClassesReady", reason, message);
    else markFalse(obj, "VMClassesReady", reason, message);
    markTrue(obj, "Ready", "Running", "");
  }
}
