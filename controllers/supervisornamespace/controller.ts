// The SupervisorNamespace controller: makes and owns the Namespace of the same name and its
// quota, default limits, RoleBindings and NetworkPolicy; puts back what was changed by hand;
// reports usage from the quota; on deletion removes the Namespace and waits (Removing) until it
// is gone. A Namespace it did not make is never adopted: NamespaceConflict.
import type { V1Namespace, V1ResourceQuota, V1RoleBinding } from "@kubernetes/client-node";
import {
  type VirtualMachineClass,
  VirtualMachineClassResource,
  type VirtualMachineClassSpec,
} from "../api/vmoperator/virtualmachineclass.ts";
import type { StorageClassBinding } from "../api/vsphere/storageclassbinding.ts";
import { StorageClassBindingResource } from "../api/vsphere/storageclassbinding.ts";
import type { SupervisorNamespace, SupervisorNamespaceStatus } from "../api/vsphere/supervisornamespace.ts";
import { SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import { VSpherePodResource } from "../api/vsphere/vspherepod.ts";
import { parseQuantity } from "../quantity.ts";
import type { KubeClient, KubeObject } from "../runtime/client.ts";
import { type NewCondition, setConditions } from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isNotFound } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { hasFinalizer, isControlledBy, withFinalizer, withoutFinalizer } from "../runtime/owner.ts";
import { deepEqual, overlayPatch } from "../runtime/patch.ts";
import {
  LimitRanges,
  Namespaces,
  NetworkPolicies,
  ResourceQuotas,
  type ResourceType,
  RoleBindings,
} from "../runtime/resource.ts";
import { byControllerUid } from "../runtime/store.ts";
import { defaultCatalogue } from "../vmservice/catalogue.ts";
import {
  desiredLimitRange,
  desiredNamespace,
  desiredNetworkPolicy,
  desiredQuota,
  desiredRoleBindings,
  desiredVMClasses,
  LIMIT_RANGE_NAME,
  NETWORK_POLICY_NAME,
  QUOTA_NAME,
} from "./children.ts";

export const FINALIZER = "vsphere.pacific.dev/supervisor-namespace";
/**
 * Pacific's finalizer on the Namespaces it makes: the Namespace stays (Terminating) until no object
 * of a Pacific kind is left in it. kube-controller-manager's namespace controller empties a namespace
 * of every kind discovery lists, but right after a kube-apiserver restart discovery may not list the
 * custom resources yet, and the namespace went with VSpherePods left behind in it (the chaos suite's
 * long run found them, alive again when a namespace of the same name came back).
 */
export const NAMESPACE_FINALIZER = "vsphere.pacific.dev/workloads";
/** The namespace controller's own (spec) finalizer: present until it has emptied the namespace. */
const KUBERNETES_FINALIZER = "kubernetes";
const OWNER_INDEX = "controllerUid";

/** Equal as quantities ("1000m" and "1" are), so server canonicalisation is no reason to write. */
export function sameQuantities(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  if (!deepEqual(ka, kb)) return false;
  return ka.every((k) => {
    try {
      return parseQuantity(a![k]) === parseQuantity(b![k]);
    } catch {
      return a![k] === b![k];
    }
  });
}

interface Caches {
  svns: Informer<SupervisorNamespace>;
  bindings: Informer<StorageClassBinding>;
  namespaces: Informer<V1Namespace>;
  quotas: Informer<V1ResourceQuota>;
  limitRanges: Informer<KubeObject & { spec?: unknown }>;
  roleBindings: Informer<V1RoleBinding>;
  networkPolicies: Informer<KubeObject & { spec?: unknown }>;
  /** Absent when the VM Operator API (VirtualMachineClass) is not installed in the cluster. */
  vmClasses?: Informer<VirtualMachineClass>;
  /** The Pacific kinds that live in a Supervisor Namespace (those the cluster serves). */
  workloads: ResourceType[];
}

export class SupervisorNamespaceReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly c: Caches,
    private readonly events: EventRecorder,
    private readonly catalogue: Record<string, VirtualMachineClassSpec> = defaultCatalogue,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    let svns = this.c.svns.store.get(req.name);
    const name = req.name;
    const ns = this.c.namespaces.store.get(name);
    if (!svns) {
      // A Namespace whose SupervisorNamespace went first (it was made by a reconcile that raced the
      // deletion): the garbage collector deletes it, and it is still ours to let go.
      if (ns?.metadata?.deletionTimestamp && hasFinalizer(ns.metadata, NAMESPACE_FINALIZER)) {
        await this.releaseNamespace(ns, log);
        return { requeueAfter: 2_000 };
      }
      return undefined;
    }
    const now = new Date();

    if (svns.metadata.deletionTimestamp) {
      if (!hasFinalizer(svns.metadata, FINALIZER)) return undefined;
      await this.writeStatus(svns, { ...svns.status, configStatus: "Removing" });
      if (ns && isControlledBy(ns.metadata, svns.metadata.uid)) {
        if (!ns.metadata?.deletionTimestamp) {
          await this.client
            .delete(Namespaces, name)
            .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
          log.info({ kind: "Namespace", name }, "deleting namespace");
        } else await this.releaseNamespace(ns, log);
        return { requeueAfter: 2_000 }; // the namespace controller empties it; we wait
      }
      // Gone already: another finalizer (the registry controller's) was the last, from a cache ahead of ours.
      await this.client
        .patch(SupervisorNamespaceResource, name, undefined, {
          metadata: {
            finalizers: withoutFinalizer(svns.metadata, FINALIZER),
            resourceVersion: svns.metadata.resourceVersion,
          },
        })
        .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      return undefined;
    }
    if (!hasFinalizer(svns.metadata, FINALIZER)) {
      // Added before anything is made, so deletion always finds it; then go on with the fresh object.
      svns = await this.client.patch<SupervisorNamespace>(SupervisorNamespaceResource, name, undefined, {
        metadata: {
          finalizers: withFinalizer(svns.metadata, FINALIZER),
          resourceVersion: svns.metadata.resourceVersion,
        },
      });
    }

    const g = svns.metadata.generation;
    if (ns && !isControlledBy(ns.metadata, svns.metadata.uid)) {
      const msg = `Namespace ${name} already exists and was not made for this SupervisorNamespace; Pacific will not adopt it`;
      if (svns.status?.configStatus !== "Error")
        this.events.event(svns, "Warning", "NamespaceConflict", "Configure", msg);
      await this.writeStatus(svns, {
        ...svns.status,
        observedGeneration: g,
        configStatus: "Error",
        conditions: setConditions(
          svns.status?.conditions,
          [
            {
              type: "NamespaceReady",
              status: "False",
              reason: "NamespaceConflict",
              message: msg,
              observedGeneration: g,
            },
            {
              type: "Ready",
              status: "False",
              reason: "NamespaceConflict",
              message: msg,
              observedGeneration: g,
            },
          ],
          now,
        ),
      });
      return undefined;
    }

    const bindings = this.c.bindings.store
      .list()
      .filter(
        (b) =>
          b.spec.namespace === name &&
          b.status?.conditions?.some((x) => x.type === "Bound" && x.status === "True"),
      );
    const boundClasses = bindings.map((b) => b.spec.storageClass);

    // The Namespace first: everything else lives in it.
    const wantNs = desiredNamespace(svns, boundClasses);
    if (!ns) {
      await this.client.create(Namespaces, {
        ...wantNs,
        metadata: { ...wantNs.metadata, finalizers: [NAMESPACE_FINALIZER] },
      });
      log.info({ kind: "Namespace", name }, "created namespace");
    } else if (!ns.metadata?.deletionTimestamp) {
      const patch = overlayPatch(ns, { metadata: wantNs.metadata });
      if (patch) await this.client.patch(Namespaces, name, undefined, patch);
      if (!hasFinalizer(ns.metadata, NAMESPACE_FINALIZER))
        await this.client.patch(Namespaces, name, undefined, {
          metadata: {
            finalizers: withFinalizer(ns.metadata!, NAMESPACE_FINALIZER),
            resourceVersion: ns.metadata?.resourceVersion,
          },
        });
    }
    if (ns?.metadata?.deletionTimestamp) {
      // Deleted by hand: made again once the old one is gone.
      await this.releaseNamespace(ns, log);
      return { requeueAfter: 2_000 };
    }

    // The children are written in parallel, but the LimitRange before the ResourceQuota: a quota on
    // CPU/memory refuses pods without limits (403), and the LimitRange is what gives them defaults.
    const wantBindings = desiredRoleBindings(svns);
    const wanted = new Set(wantBindings.map((b) => b.metadata!.name));
    await Promise.all([
      (async () => {
        await this.sync(
          LimitRanges,
          name,
          LIMIT_RANGE_NAME,
          desiredLimitRange(svns),
          this.c.limitRanges.store.get(`${name}/${LIMIT_RANGE_NAME}`),
          (cur, want) => (sameLimits(cur.spec, want.spec) ? undefined : { spec: want.spec }),
        );
        await this.sync(
          ResourceQuotas,
          name,
          QUOTA_NAME,
          desiredQuota(svns),
          this.c.quotas.store.get(`${name}/${QUOTA_NAME}`),
          (cur, want) =>
            sameQuantities(cur.spec?.hard, want.spec?.hard)
              ? undefined
              : { spec: { hard: { ...nullOut(cur.spec?.hard, want.spec?.hard), ...want.spec?.hard } } },
        );
      })(),
      this.sync(
        NetworkPolicies,
        name,
        NETWORK_POLICY_NAME,
        desiredNetworkPolicy(svns),
        this.c.networkPolicies.store.get(`${name}/${NETWORK_POLICY_NAME}`),
        (cur, want) => (deepEqual(cur.spec, want.spec) ? undefined : { spec: want.spec }),
      ),
      ...wantBindings.map(async (rb) => {
        const cur = this.c.roleBindings.store.get(`${name}/${rb.metadata!.name}`);
        if (cur && !deepEqual(cur.roleRef, rb.roleRef)) {
          await this.client.delete(RoleBindings, rb.metadata!.name!, name); // roleRef is immutable; made again next time
          return;
        }
        await this.sync(RoleBindings, name, rb.metadata!.name!, rb, cur, (c, w) =>
          deepEqual(c.subjects, w.subjects) ? undefined : { subjects: w.subjects },
        );
      }),
      ...this.c.roleBindings.store
        .byIndex(OWNER_INDEX, svns.metadata.uid!)
        .filter((rb) => !wanted.has(rb.metadata!.name!))
        .map((rb) => this.client.delete(RoleBindings, rb.metadata!.name!, name).catch(() => undefined)),
    ]);

    // VM classes: copies of the catalogue's, only those the namespace may use.
    const vm = this.c.vmClasses
      ? await this.syncVMClasses(svns, this.c.vmClasses)
      : { classes: [], condition: vmServiceUnavailable(svns, g) };
    const vmCond = vm.condition;

    const quota = this.c.quotas.store.get(`${name}/${QUOTA_NAME}`);
    const used = quota?.status?.used ?? {};
    const conds: NewCondition[] = [
      {
        type: "NamespaceReady",
        status: "True",
        reason: "Created",
        message: `namespace ${name} is configured`,
        observedGeneration: g,
      },
      vmCond,
      { type: "Ready", status: "True", reason: "Running", message: "", observedGeneration: g },
    ];
    await this.writeStatus(svns, {
      observedGeneration: g,
      configStatus: "Running",
      namespace: name,
      encrypted: svns.spec.encryption,
      usage: {
        cpu: used["limits.cpu"],
        memory: used["limits.memory"],
        storage: used["requests.storage"],
        pods: used["count/pods"],
      },
      storageClasses: bindings.map((b) => ({
        name: b.spec.storageClass,
        limit: String(b.spec.limit),
        used: b.status?.used,
      })),
      vmClasses: vm.classes,
      registry: svns.status?.registry, // the registry controller's (controllers/registry)
      conditions: setConditions(svns.status?.conditions, conds, now),
    });
    return undefined;
  }

  /** Creates, updates (only what `diff` says) or deletes one owned child. */
  private async sync<T extends KubeObject>(
    rt: ResourceType,
    namespace: string,
    name: string,
    want: T | undefined,
    cur: T | undefined,
    diff: (cur: T, want: T) => object | undefined,
  ): Promise<void> {
    if (!want) {
      if (cur?.metadata?.ownerReferences?.some((o) => o.controller && o.kind === "SupervisorNamespace")) {
        await this.client
          .delete(rt, name, namespace)
          .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      }
      return;
    }
    if (!cur) {
      await this.client.create(rt, want);
      return;
    }
    const meta = overlayPatch(cur.metadata, {
      labels: want.metadata?.labels,
      annotations: want.metadata?.annotations,
      ownerReferences: want.metadata?.ownerReferences,
    });
    const body = { ...(diff(cur, want) ?? {}), ...(meta ? { metadata: meta } : {}) };
    if (Object.keys(body).length > 0) await this.client.patch(rt, name, namespace, body);
  }

  /** Copies the allowed catalogue classes into the namespace, removes the others; the VMClassesReady condition. */
  private async syncVMClasses(
    svns: SupervisorNamespace,
    classes: Informer<VirtualMachineClass>,
  ): Promise<{ classes: string[]; condition: NewCondition }> {
    const name = svns.metadata.name!;
    const g = svns.metadata.generation;
    const vm = desiredVMClasses(svns, this.catalogue);
    const wantClasses = new Set(vm.classes.map((c) => c.metadata.name));
    await Promise.all([
      ...vm.classes.map((want) =>
        this.sync(
          VirtualMachineClassResource,
          name,
          want.metadata.name!,
          want,
          classes.store.get(`${name}/${want.metadata.name}`),
          (cur, w) => (deepEqual(cur.spec, w.spec) ? undefined : { spec: w.spec }),
        ),
      ),
      ...classes.store
        .byIndex(OWNER_INDEX, svns.metadata.uid!)
        .filter((c) => !wantClasses.has(c.metadata.name))
        .map((c) =>
          this.client.delete(VirtualMachineClassResource, c.metadata.name!, name).catch(() => undefined),
        ),
    ]);
    const condition: NewCondition = vm.unknown.length
      ? {
          type: "VMClassesReady",
          status: "False",
          reason: "UnknownVMClass",
          message: `not in the VM class catalogue: ${vm.unknown.join(", ")}`,
          observedGeneration: g,
        }
      : {
          type: "VMClassesReady",
          status: "True",
          reason: "Copied",
          message: `${vm.classes.length} VM class(es) available`,
          observedGeneration: g,
        };
    return { classes: vm.classes.map((c) => c.metadata.name!), condition };
  }

  /**
   * Lets a terminating Namespace go once no object of a Pacific kind is left in it. The namespace
   * controller empties it first; what is still there after it has finished (its spec finalizer is
   * gone) it missed, and is deleted here.
   */
  private async releaseNamespace(ns: V1Namespace, log: Logger): Promise<void> {
    const name = ns.metadata!.name!;
    if (!hasFinalizer(ns.metadata, NAMESPACE_FINALIZER)) return;
    if (ns.spec?.finalizers?.includes(KUBERNETES_FINALIZER)) return;
    const left = (
      await Promise.all(
        this.c.workloads.map(async (rt) =>
          (await this.client.list<KubeObject>(rt, { namespace: name })).items.map((o) => ({ rt, o })),
        ),
      )
    ).flat();
    if (left.length) {
      for (const { rt, o } of left)
        if (!o.metadata?.deletionTimestamp)
          await this.client
            .delete(rt, o.metadata!.name!, name, { propagationPolicy: "Background" })
            .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
      log.warn(
        {
          kind: "Namespace",
          name,
          left: left.map(({ rt, o }) => `${rt.kind}/${o.metadata?.name}`).slice(0, 10),
        },
        "the namespace controller left Pacific objects behind; deleting them before the namespace goes",
      );
      return;
    }
    await this.client
      .patch(Namespaces, name, undefined, {
        metadata: {
          finalizers: withoutFinalizer(ns.metadata!, NAMESPACE_FINALIZER),
          resourceVersion: ns.metadata?.resourceVersion,
        },
      })
      .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))); // gone meanwhile: released
  }

  private async writeStatus(
    svns: SupervisorNamespace,
    status: SupervisorNamespaceStatus | undefined,
  ): Promise<void> {
    if (deepEqual(status, svns.status)) return;
    // Gone meanwhile (its deletion finished): nothing left to report on, and no failure.
    await this.client
      .patch(
        SupervisorNamespaceResource,
        svns.metadata.name!,
        undefined,
        { status },
        { subresource: "status" },
      )
      .catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
  }
}

/** Keys in `cur` missing from `want`, set to null (removed by the merge patch). */
function nullOut(
  cur: Record<string, string> | undefined,
  want: Record<string, string> | undefined,
): Record<string, null> {
  return Object.fromEntries(
    Object.keys(cur ?? {})
      .filter((k) => !(k in (want ?? {})))
      .map((k) => [k, null]),
  );
}

function sameLimits(a: unknown, b: unknown): boolean {
  type L = {
    limits?: Array<{
      type?: string;
      default?: Record<string, string>;
      defaultRequest?: Record<string, string>;
    }>;
  };
  const la = (a as L)?.limits ?? [];
  const lb = (b as L)?.limits ?? [];
  return (
    la.length === lb.length &&
    la.every(
      (x, i) =>
        x.type === lb[i]!.type &&
        sameQuantities(x.default, lb[i]!.default) &&
        sameQuantities(x.defaultRequest, lb[i]!.defaultRequest),
    )
  );
}

/** VMClassesReady when the cluster has no VirtualMachineClass API: only a problem if classes are asked for. */
function vmServiceUnavailable(svns: SupervisorNamespace, g: number | undefined): NewCondition {
  return svns.spec.vmClasses?.length
    ? {
        type: "VMClassesReady",
        status: "False",
        reason: "VMServiceUnavailable",
        message:
          "the VirtualMachineClass API (vmoperator.vmware.com/v1alpha3) is not installed: install the chart with crds.vmOperator=true, or VM Operator",
        observedGeneration: g,
      }
    : {
        type: "VMClassesReady",
        status: "True",
        reason: "Copied",
        message: "0 VM class(es) available",
        observedGeneration: g,
      };
}

export function setupSupervisorNamespaceController(
  mgr: Manager,
  catalogue: Record<string, VirtualMachineClassSpec> = defaultCatalogue,
  vmOperatorInstalled = true,
  workloads: ResourceType[] = [VSpherePodResource],
): void {
  const managed = { labelSelector: "app.kubernetes.io/managed-by=pacific" };
  const c: Caches = {
    svns: mgr.informer(SupervisorNamespaceResource),
    bindings: mgr.informer(StorageClassBindingResource),
    namespaces: mgr.informer(Namespaces),
    quotas: mgr.informer(ResourceQuotas),
    limitRanges: mgr.informer(LimitRanges),
    roleBindings: mgr.informer(RoleBindings, managed),
    networkPolicies: mgr.informer(NetworkPolicies, managed),
    vmClasses: vmOperatorInstalled ? mgr.informer(VirtualMachineClassResource, managed) : undefined,
    workloads,
  };
  c.roleBindings.addIndex(OWNER_INDEX, byControllerUid);
  c.vmClasses?.addIndex(OWNER_INDEX, byControllerUid);
  const b = mgr
    .controller("supervisornamespace")
    .for(SupervisorNamespaceResource)
    // Hand edits and deletions of what it owns bring it back (every change, not just spec).
    .owns(Namespaces, { predicate: anyChange })
    .owns(ResourceQuotas, { predicate: anyChange })
    .owns(LimitRanges, { predicate: anyChange })
    .owns(RoleBindings, { predicate: anyChange, informer: managed })
    .owns(NetworkPolicies, { predicate: anyChange, informer: managed })
    .watches(StorageClassBindingResource, (sb) => [{ name: (sb as StorageClassBinding).spec.namespace }], {
      predicate: anyChange,
    })
    .withOptions({ maxConcurrentReconciles: 16 });
  if (vmOperatorInstalled) b.owns(VirtualMachineClassResource, { predicate: anyChange, informer: managed });
  b.complete(new SupervisorNamespaceReconciler(mgr.client, c, mgr.events, catalogue));
}
