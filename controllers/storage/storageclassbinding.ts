// The StorageClassBinding controller: grants one storage class to one Supervisor Namespace with a
// limit — the StorageClass is created if missing (provisioner csi.vsphere.vmware.com), and a
// ResourceQuota `pacific-storage-<class>` holds <class>.storageclass.storage.k8s.io/requests.storage
// (VM Operator's test of which classes a namespace may use). Bound reports the outcome.
import type { V1Namespace, V1ResourceQuota, V1StorageClass } from "@kubernetes/client-node";
import type { StorageClassBinding, StorageClassBindingStatus } from "../api/vsphere/storageclassbinding.ts";
import { StorageClassBindingResource } from "../api/vsphere/storageclassbinding.ts";
import type { SupervisorNamespace } from "../api/vsphere/supervisornamespace.ts";
import { SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import type { KubeClient } from "../runtime/client.ts";
import { type NewCondition, setConditions } from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isAlreadyExists } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import type { Manager } from "../runtime/manager.ts";
import { controllerRef, isControlledBy } from "../runtime/owner.ts";
import { deepEqual } from "../runtime/patch.ts";
import { Namespaces, ResourceQuotas, StorageClasses } from "../runtime/resource.ts";
import { sameQuantities } from "../supervisornamespace/controller.ts";
import { CSI_DRIVER, classRefusal, namespaceRefusal } from "./bindingcheck.ts";

export { CSI_DRIVER } from "./bindingcheck.ts";

export const quotaName = (storageClass: string) => `pacific-storage-${storageClass}`;
export const quotaKey = (storageClass: string) =>
  `${storageClass}.storageclass.storage.k8s.io/requests.storage`;
/** A class encrypts when its storage policy does (parameter `encryption: "true"`, as Pacific creates them). */
export const isEncrypted = (sc: V1StorageClass | undefined) => sc?.parameters?.encryption === "true";

export class StorageClassBindingReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly bindings: Informer<StorageClassBinding>,
    private readonly svns: Informer<SupervisorNamespace>,
    private readonly classes: Informer<V1StorageClass>,
    private readonly quotas: Informer<V1ResourceQuota>,
    private readonly namespaces: Informer<V1Namespace>,
    private readonly events: EventRecorder,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const b = this.bindings.store.get(req.name);
    if (!b || b.metadata.deletionTimestamp) return undefined; // its quota goes with it (owner reference)
    const { namespace, storageClass } = b.spec;
    const g = b.metadata.generation;
    const unbound = (reason: string, message: string) =>
      this.setBound(b, { type: "Bound", status: "False", reason, message, observedGeneration: g });

    const svns = this.svns.store.get(namespace);
    if (!svns) return unbound("NamespaceNotFound", `there is no SupervisorNamespace ${namespace}`);
    if (svns.metadata.deletionTimestamp)
      return unbound("NamespaceRemoving", `SupervisorNamespace ${namespace} is being removed`);
    const notOwned = namespaceRefusal(svns, this.namespaces.store.get(namespace));
    if (notOwned) return unbound(notOwned.reason, notOwned.message);

    let sc = this.classes.store.get(storageClass);
    if (!sc) {
      const made = await this.client
        .create<V1StorageClass>(StorageClasses, {
          apiVersion: "storage.k8s.io/v1",
          kind: "StorageClass",
          metadata: { name: storageClass, labels: { "app.kubernetes.io/managed-by": "pacific" } },
          provisioner: CSI_DRIVER,
          parameters: {
            storagePolicyName: b.spec.storagePolicyName ?? storageClass,
            ...(b.spec.encrypted ? { encryption: "true" } : {}),
          },
          reclaimPolicy: "Delete",
          volumeBindingMode: "Immediate",
          allowVolumeExpansion: true,
        })
        .catch((e: unknown) => {
          // Another binding of the same class (in another namespace) made it a moment ago: the
          // cache will show it shortly; that is no failure.
          if (isAlreadyExists(e)) return undefined;
          throw e;
        });
      if (!made) return { requeueAfter: 500 };
      sc = made;
      log.info({ kind: "StorageClass", name: storageClass }, "created storage class");
    }
    const foreign = classRefusal(sc);
    if (foreign) {
      if (b.status?.conditions?.find((c) => c.type === "Bound")?.reason !== foreign.reason)
        this.events.event(b, "Warning", foreign.reason, "Bind", foreign.message);
      return unbound(foreign.reason, foreign.message);
    }
    if (svns.spec.encryption && !isEncrypted(sc)) {
      const msg = `SupervisorNamespace ${namespace} requires encryption and storage class ${storageClass} does not encrypt`;
      this.events.event(b, "Warning", "EncryptionRequired", "Bind", msg);
      return unbound("EncryptionRequired", msg);
    }
    const ns = this.nsReady(namespace);
    if (!ns)
      return {
        ...(await unbound("NamespaceNotReady", `namespace ${namespace} does not exist yet`)),
        requeueAfter: 2_000,
      };

    const name = quotaName(storageClass);
    const current = this.quotas.store.get(`${namespace}/${name}`);
    if (current && !isControlledBy(current.metadata, b.metadata.uid)) {
      return unbound(
        "DuplicateBinding",
        `storage class ${storageClass} is already bound to ${namespace} by another StorageClassBinding`,
      );
    }
    const hard = { [quotaKey(storageClass)]: String(b.spec.limit) };
    if (!current) {
      await this.client.create(ResourceQuotas, {
        apiVersion: "v1",
        kind: "ResourceQuota",
        metadata: {
          name,
          namespace,
          labels: {
            "app.kubernetes.io/managed-by": "pacific",
            "vsphere.pacific.dev/storage-class": storageClass,
          },
          ownerReferences: [
            controllerRef({
              apiVersion: "vsphere.pacific.dev/v1alpha1",
              kind: "StorageClassBinding",
              metadata: b.metadata,
            }),
          ],
        },
        spec: { hard },
      });
    } else if (!sameQuantities(current.spec?.hard, hard)) {
      await this.client.patch(ResourceQuotas, name, namespace, {
        spec: {
          hard: {
            ...Object.fromEntries(Object.keys(current.spec?.hard ?? {}).map((k) => [k, null])),
            ...hard,
          },
        },
      });
    }
    const used = current?.status?.used?.[quotaKey(storageClass)] ?? "0";
    return this.setBound(
      b,
      {
        type: "Bound",
        status: "True",
        reason: "Bound",
        message: `${storageClass} is available in ${namespace}`,
        observedGeneration: g,
      },
      used,
    );
  }

  /** The Namespace exists and is not being deleted (from the shared cache, not an API call). */
  private nsReady(name: string): boolean {
    const ns = this.namespaces.store.get(name);
    return !!ns && !ns.metadata?.deletionTimestamp;
  }

  private async setBound(
    b: StorageClassBinding,
    cond: NewCondition,
    used?: string,
  ): Promise<Result | undefined> {
    const status: StorageClassBindingStatus = {
      observedGeneration: b.metadata.generation,
      limit: String(b.spec.limit),
      used: used ?? b.status?.used,
      // Ready summarises Bound, so `kubectl wait --for=condition=Ready` works as for every Pacific kind.
      conditions: setConditions(b.status?.conditions, [
        cond,
        { ...cond, type: "Ready", reason: cond.status === "True" ? "Ready" : cond.reason },
      ]),
    };
    if (!deepEqual(status, b.status)) {
      await this.client.patch(
        StorageClassBindingResource,
        b.metadata.name!,
        undefined,
        { status },
        { subresource: "status" },
      );
    }
    return cond.status === "True" ? undefined : { requeueAfter: 30_000 };
  }
}

export function setupStorageClassBindingController(mgr: Manager): void {
  const bindings = mgr.informer<StorageClassBinding>(StorageClassBindingResource);
  const svns = mgr.informer<SupervisorNamespace>(SupervisorNamespaceResource);
  const classes = mgr.informer<V1StorageClass>(StorageClasses);
  const quotas = mgr.informer<V1ResourceQuota>(ResourceQuotas);
  const namespaces = mgr.informer<V1Namespace>(Namespaces);
  const forNamespace = (ns: string | undefined) =>
    bindings.store
      .list()
      .filter((b) => b.spec.namespace === ns)
      .map((b) => ({ name: b.metadata.name! }));
  mgr
    .controller("storageclassbinding")
    .for(StorageClassBindingResource)
    .owns(ResourceQuotas, { predicate: anyChange })
    .watches(SupervisorNamespaceResource, (s) => forNamespace(s.metadata?.name), { predicate: anyChange })
    .watches(StorageClasses, (sc) =>
      bindings.store
        .list()
        .filter((b) => b.spec.storageClass === sc.metadata?.name)
        .map((b) => ({ name: b.metadata.name! })),
    )
    .withOptions({ maxConcurrentReconciles: 16 })
    .complete(
      new StorageClassBindingReconciler(mgr.client, bindings, svns, classes, quotas, namespaces, mgr.events),
    );
}
