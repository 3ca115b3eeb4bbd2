import type {
  V1Namespace,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1ResourceQuota,
  V1RoleBinding,
  V1StorageClass,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WORKLOADS_FINALIZER } from "../../controllers/api/contracts.ts";
import {
  type VirtualMachineClass,
  VirtualMachineClassResource,
} from "../../controllers/api/vmoperator/virtualmachineclass.ts";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import {
  type StorageClassBinding,
  StorageClassBindingResource,
} from "../../controllers/api/vsphere/storageclassbinding.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceResource,
} from "../../controllers/api/vsphere/supervisornamespace.ts";
import { VSpherePodResource } from "../../controllers/api/vsphere/vspherepod.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import { EventRecorder } from "../../controllers/runtime/events.ts";
import { Informer } from "../../controllers/runtime/informer.ts";
import { silentLogger } from "../../controllers/runtime/log.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import {
  ConfigMaps,
  LimitRanges,
  Namespaces,
  PersistentVolumeClaims,
  PersistentVolumes,
  Pods,
  ResourceQuotas,
  type ResourceType,
  RoleBindings,
  StorageClasses,
} from "../../controllers/runtime/resource.ts";
import { StorageClassBindingReconciler } from "../../controllers/storage/storageclassbinding/reconciler.ts";
import { eventually, isNotFound, kubeConfig, uniqueName } from "./kube.ts";
import { expectNoForbidden, startPacific } from "./pacific.ts";

const kc = kubeConfig();
const admin = new KubeClient(kc);
const as = (user: string) => new KubeClient(kc, { impersonate: { user, groups: ["system:authenticated"] } });
const suffix = uniqueName("s").slice(2);
const dev = `dev-${suffix}`;
const other = `other-${suffix}`;
const gold = `gold-${suffix}`;
const tiny = `tiny-${suffix}`;
const events: ResourceType = {
  group: "events.k8s.io",
  version: "v1",
  plural: "events",
  kind: "Event",
  namespaced: true,
};
let mgr: Manager;

/** What a call answers: 200-ish, or the error code and message. */
async function outcome(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
    return { code: 200, message: "" };
  } catch (e) {
    const s = apiStatus(e);
    return { code: s.code, message: s.message };
  }
}

const svnsObj = (name: string, spec: object): SupervisorNamespace =>
  ({
    apiVersion: "vsphere.pacific.dev/v1alpha1",
    kind: "SupervisorNamespace",
    metadata: { name },
    spec,
  }) as SupervisorNamespace;

/** A pod that passes the restricted Pod Security level. */
const restrictedPod = (name: string, ns: string, cpuLimit?: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns },
  spec: {
    securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
    containers: [
      {
        name: "app",
        image: "nginx",
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        ...(cpuLimit ? { resources: { limits: { cpu: cpuLimit, memory: "128Mi" } } } : {}),
      },
    ],
  },
});

const pvc = (name: string, ns: string, storageClassName: string, size = "1Gi"): V1PersistentVolumeClaim => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name, namespace: ns },
  spec: { storageClassName, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } },
});

beforeAll(async () => {
  mgr = await startPacific({ datastoreCapacity: `10Ti,${tiny}=1Gi` });
});

afterAll(async () => {
  for (const n of [dev, other, `taken-${suffix}`])
    await admin.delete(SupervisorNamespaceResource, n).catch(() => undefined);
  for (const b of [`${dev}-${gold}`, `${dev}-${tiny}`])
    await admin.delete(StorageClassBindingResource, b).catch(() => undefined);
  await admin.delete(Namespaces, `taken-${suffix}`).catch(() => undefined);
  await mgr?.stop();
});

describe("Supervisor Namespaces", () => {
  it("configures a namespace with limits, access, isolation and Pod Security, and reports Running", async () => {
    await admin.create(
      SupervisorNamespaceResource,
      svnsObj(dev, {
        limits: { cpu: "2", memory: "4Gi", storage: "100Gi" },
        objectCounts: { pods: 20 },
        defaults: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        access: [
          { subjectType: "User", subject: "alice", role: "Edit" },
          { subjectType: "User", subject: "bob", role: "View" },
          { subjectType: "User", subject: "carol", role: "Owner" },
        ],
        vmClasses: ["best-effort-small", "guaranteed-medium"],
      }),
    );
    await admin.create(
      SupervisorNamespaceResource,
      svnsObj(other, {
        access: [{ subjectType: "User", subject: "dave", role: "Edit" }],
        vmClasses: ["best-effort-xsmall", "huge-9000"],
      }),
    );
    const s = await eventually(`${dev} Running`, async () => {
      const x = await admin.get<SupervisorNamespace>(SupervisorNamespaceResource, dev);
      return x.status?.configStatus === "Running" && x;
    });
    expect(s.metadata.finalizers).toContain("vsphere.pacific.dev/supervisor-namespace");
    expect(s.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    const ns = await admin.get<V1Namespace>(Namespaces, dev);
    expect(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const rq = await admin.get<V1ResourceQuota>(ResourceQuotas, "pacific-limits", dev);
    expect(rq.spec?.hard).toMatchObject({
      "limits.cpu": "2",
      "limits.memory": "4Gi",
      "requests.storage": "100Gi",
      "count/pods": "20",
    });
    const lr = (await await admin.get(LimitRanges, "pacific-defaults", dev)) as unknown as {
      spec: { limits: Array<Record<string, unknown>> };
    };
    expect(lr.spec.limits[0]).toMatchObject({
      default: { cpu: "500m", memory: "256Mi" },
      defaultRequest: { cpu: "100m", memory: "64Mi" },
    });
    const rbs = (await admin.list<V1RoleBinding>(RoleBindings, { namespace: dev })).items;
    const byUser = (u: string) =>
      rbs
        .filter((b) => b.subjects?.some((x) => x.name === `sso:${u}@vsphere.local`))
        .map((b) => b.roleRef.name)
        .sort();
    expect(byUser("alice")).toEqual(["edit"]);
    expect(byUser("bob")).toEqual(["view"]);
    expect(byUser("carol")).toEqual(["edit", "pacific-namespace-owner"]);
    const np = await admin.get<KubeObject & { spec: { ingress: Array<{ from: unknown[] }> } }>(
      {
        group: "networking.k8s.io",
        version: "v1",
        plural: "networkpolicies",
        kind: "NetworkPolicy",
        namespaced: true,
      },
      "pacific-isolation",
      dev,
    );
    expect(np.spec.ingress[0]!.from).toHaveLength(2);
    await eventually(
      `${other} Running`,
      async () =>
        (await admin.get<SupervisorNamespace>(SupervisorNamespaceResource, other)).status?.configStatus ===
        "Running",
    );

    // VM classes: copies of the catalogue's, only those listed; an unknown name is reported.
    const classes = (await admin.list<VirtualMachineClass>(VirtualMachineClassResource, { namespace: dev }))
      .items;
    expect(classes.map((c) => c.metadata.name).sort()).toEqual(["best-effort-small", "guaranteed-medium"]);
    const guaranteed = classes.find((c) => c.metadata.name === "guaranteed-medium")!;
    expect(guaranteed.spec.hardware).toEqual({ cpus: 2, memory: "8Gi" });
    expect(guaranteed.spec.policies?.resources?.requests).toEqual({ cpu: "2000m", memory: "8Gi" });
    expect(s.status?.vmClasses?.sort()).toEqual(["best-effort-small", "guaranteed-medium"]);
    const o = await admin.get<SupervisorNamespace>(SupervisorNamespaceResource, other);
    expect(o.status?.conditions?.find((c) => c.type === "VMClassesReady")).toMatchObject({
      status: "False",
      reason: "UnknownVMClass",
    });
    expect(o.status?.conditions?.find((c) => c.type === "VMClassesReady")?.message).toContain("huge-9000");
    await admin.patch(SupervisorNamespaceResource, other, undefined, { spec: { vmClasses: [] } });
    await eventually(
      "unlisted class removed",
      async () => (await admin.list(VirtualMachineClassResource, { namespace: other })).items.length === 0,
    );
  });

  it("lets the API server refuse a pod over the namespace's CPU limit (quota) and one breaking Pod Security", async () => {
    const over = await outcome(admin.create(Pods, restrictedPod("too-much-cpu", dev, "3")));
    expect(over.code).toBe(403);
    expect(over.message).toContain("exceeded quota: pacific-limits");
    expect(over.message).toContain("limits.cpu");
    const privileged = await outcome(
      admin.create(Pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "root", namespace: dev },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      }),
    );
    expect(privileged.code).toBe(403);
    expect(privileged.message).toContain('violates PodSecurity "restricted');
    // Within the limit, with limits from the LimitRange's defaults:
    expect((await outcome(admin.create(Pods, restrictedPod("fits", dev)))).code).toBe(200);
  });

  it("grants View read-only, Edit workloads in its own namespace only, and nobody the admin kinds or their own quota", async () => {
    const alice = as("sso:alice@vsphere.local");
    const bob = as("sso:bob@vsphere.local");
    const carol = as("sso:carol@vsphere.local");
    const cm = (name: string, ns: string) => ({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name, namespace: ns },
    });

    // The API server's RBAC authorizer sees new RoleBindings through its own informer: a moment late.
    await eventually(
      "View's RoleBinding in effect",
      async () => (await outcome(bob.list(Pods, { namespace: dev }))).code === 200,
    );
    expect((await outcome(bob.create(ConfigMaps, cm("by-bob", dev)))).code).toBe(403);

    expect((await outcome(alice.create(Pods, restrictedPod("by-alice", dev)))).code).toBe(200);
    const vpod = {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "VSpherePod",
      metadata: { name: "by-alice", namespace: dev },
      spec: { template: { spec: { containers: [{ name: "c", image: "nginx" }] } } },
    };
    expect((await outcome(alice.create(VSpherePodResource, vpod))).code).toBe(200);
    expect((await outcome(alice.create(ConfigMaps, cm("by-alice", other)))).code).toBe(403);
    expect(
      (
        await outcome(
          alice.create(VSpherePodResource, { ...vpod, metadata: { name: "x", namespace: other } }),
        )
      ).code,
    ).toBe(403);

    for (const who of [alice, bob, carol]) {
      expect(
        (
          await outcome(
            who.create(ESXiHostResource, {
              apiVersion: "vsphere.pacific.dev/v1alpha1",
              kind: "ESXiHost",
              metadata: { name: `h-${suffix}` },
              spec: { capacity: { cpu: 1, memory: "1Gi" } },
            }),
          )
        ).code,
      ).toBe(403);
      expect(
        (await outcome(who.create(SupervisorNamespaceResource, svnsObj(`mine-${suffix}`, {})))).code,
      ).toBe(403);
      expect(
        (
          await outcome(
            who.create(StorageClassBindingResource, {
              apiVersion: "vsphere.pacific.dev/v1alpha1",
              kind: "StorageClassBinding",
              metadata: { name: `b-${suffix}` },
              spec: { namespace: dev, storageClass: gold, limit: "1Ti" },
            }),
          )
        ).code,
      ).toBe(403);
      expect(
        (
          await outcome(
            who.patch(ResourceQuotas, "pacific-limits", dev, { spec: { hard: { "limits.cpu": "100" } } }),
          )
        ).code,
      ).toBe(403);
    }

    // The Owner manages the namespace's permissions, among the subjects of its access list
    // (test/e2e/tenants.e2e.ts: nobody else).
    const grant = {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "carol-grants-bob", namespace: dev },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "sso:bob@vsphere.local" }],
    };
    expect((await outcome(carol.create(RoleBindings, grant))).code).toBe(200);
    expect(
      (
        await outcome(
          alice.create(RoleBindings, { ...grant, metadata: { name: "alice-grants", namespace: dev } }),
        )
      ).code,
    ).toBe(403);
  });

  it("puts back hand edits: a raised quota, a deleted RoleBinding, a removed label", async () => {
    await admin.patch(ResourceQuotas, "pacific-limits", dev, {
      spec: { hard: { "limits.cpu": "100", "requests.nvidia.com/gpu": "4" } },
    });
    const victim = (
      await admin.list<V1RoleBinding>(RoleBindings, {
        namespace: dev,
        labelSelector: "vsphere.pacific.dev/role=view",
      })
    ).items[0]!;
    await admin.delete(RoleBindings, victim.metadata!.name!, dev);
    await admin.patch(Namespaces, dev, undefined, {
      metadata: { labels: { "pod-security.kubernetes.io/enforce": "privileged" } },
    });
    await eventually("quota restored", async () => {
      const rq = await admin.get<V1ResourceQuota>(ResourceQuotas, "pacific-limits", dev);
      return rq.spec?.hard?.["limits.cpu"] === "2" && !("requests.nvidia.com/gpu" in (rq.spec?.hard ?? {}));
    });
    await eventually("RoleBinding recreated", () => admin.get(RoleBindings, victim.metadata!.name!, dev));
    await eventually(
      "Pod Security label restored",
      async () =>
        (await admin.get<V1Namespace>(Namespaces, dev)).metadata?.labels?.[
          "pod-security.kubernetes.io/enforce"
        ] === "restricted",
    );
  });

  it("never adopts a Namespace it did not make: NamespaceConflict", async () => {
    const name = `taken-${suffix}`;
    await admin.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
    await admin.create(SupervisorNamespaceResource, svnsObj(name, {}));
    const s = await eventually("conflict reported", async () => {
      const x = await admin.get<SupervisorNamespace>(SupervisorNamespaceResource, name);
      return x.status?.configStatus === "Error" && x;
    });
    expect(s.status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("NamespaceConflict");
    const ns = await admin.get<V1Namespace>(Namespaces, name);
    expect(ns.metadata?.ownerReferences ?? []).toEqual([]);
  });
});

describe("removing a Supervisor Namespace", () => {
  it("keeps the Namespace until Pacific's objects in it are gone, also those the namespace controller missed", async () => {
    // Right after a kube-apiserver restart the namespace controller's discovery may not list custom
    // resources: it finalized a namespace with VSpherePods still in it (found by the chaos suite's
    // long run). Its part is played here by finalizing the Namespace before anything empties it.
    const name = `leak-${suffix}`;
    await admin.create(SupervisorNamespaceResource, svnsObj(name, { podSecurity: "privileged" }));
    const ns = await eventually("Namespace made", async () => {
      const n = await admin.get<V1Namespace>(Namespaces, name);
      return n.metadata?.finalizers?.includes(WORKLOADS_FINALIZER) && n;
    });
    await admin.create(VSpherePodResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "VSpherePod",
      metadata: { name: "left-behind", namespace: name },
      spec: { template: { spec: { containers: [{ name: "c", image: "nginx" }] } } },
    });
    await admin.replace<V1Namespace>(Namespaces, { ...ns, spec: { finalizers: [] } }, "finalize");
    await admin.delete(SupervisorNamespaceResource, name);
    await eventually(
      "SupervisorNamespace and Namespace gone",
      async () =>
        (await outcome(admin.get(SupervisorNamespaceResource, name))).code === 404 &&
        (await outcome(admin.get(Namespaces, name))).code === 404,
      60_000,
    );
    expect((await outcome(admin.get(VSpherePodResource, "left-behind", name))).code).toBe(404);
  });
});

describe("a Namespace whose SupervisorNamespace is gone", () => {
  it("is let go once the garbage collector deletes it", async () => {
    // A reconcile that raced the SupervisorNamespace's deletion made its Namespace after it was gone
    // (found by the chaos long run: the Namespace stayed Terminating, held by Pacific's finalizer).
    const name = `orphan-${suffix}`;
    await admin.create(Namespaces, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name,
        labels: { "app.kubernetes.io/managed-by": "pacific" },
        finalizers: [WORKLOADS_FINALIZER],
        ownerReferences: [
          {
            apiVersion: "vsphere.pacific.dev/v1alpha1",
            kind: "SupervisorNamespace",
            name,
            uid: "00000000-0000-0000-0000-000000000001",
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
    });
    await eventually(
      "the orphaned Namespace gone",
      async () => (await outcome(admin.get(Namespaces, name))).code === 404,
      60_000,
    );
  });
});

describe("the Storage Service", () => {
  it("binds a class to a namespace, and a PVC of it is provisioned (CSI csi.vsphere.vmware.com) and bound", async () => {
    await admin.create(StorageClassBindingResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "StorageClassBinding",
      metadata: { name: `${dev}-${gold}` },
      spec: { namespace: dev, storageClass: gold, limit: "50Gi" },
    });
    const b = await eventually("binding Bound", async () => {
      const x = await admin.get<StorageClassBinding>(StorageClassBindingResource, `${dev}-${gold}`);
      return x.status?.conditions?.some((c) => c.type === "Bound" && c.status === "True") && x;
    });
    expect(b.status?.limit).toBe("50Gi");
    expect(b.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    const rq = await admin.get<V1ResourceQuota>(ResourceQuotas, `pacific-storage-${gold}`, dev);
    expect(rq.spec?.hard).toEqual({ [`${gold}.storageclass.storage.k8s.io/requests.storage`]: "50Gi" });
    await eventually("namespace lists the class", async () =>
      (await admin.get<V1Namespace>(Namespaces, dev)).metadata?.annotations?.[
        "vsphere.pacific.dev/storage-classes"
      ]
        ?.split(",")
        .includes(gold),
    );
    await admin.create(PersistentVolumeClaims, pvc("data", dev, gold, "5Gi"));
    const bound = await eventually(
      "PVC Bound",
      async () => {
        const x = await admin.get<V1PersistentVolumeClaim>(PersistentVolumeClaims, "data", dev);
        return x.status?.phase === "Bound" && x;
      },
      60_000,
    );
    const pv = await admin.get<V1PersistentVolume>(PersistentVolumes, bound.spec!.volumeName!);
    expect(pv.spec?.csi?.driver).toBe("csi.vsphere.vmware.com");
    expect(pv.spec?.csi?.volumeHandle).toMatch(/^[0-9a-f-]{36}$/);
    await eventually(
      "binding reports usage",
      async () =>
        (await admin.get<StorageClassBinding>(StorageClassBindingResource, `${dev}-${gold}`)).status?.used ===
        "5Gi",
    );
    // Over the binding's limit: refused by the quota.
    const over = await outcome(admin.create(PersistentVolumeClaims, pvc("huge", dev, gold, "60Gi")));
    expect(over.code).toBe(403);
    expect(over.message).toContain(`${gold}.storageclass.storage.k8s.io/requests.storage`);
    // Deleting the claim deletes the volume (reclaim policy Delete).
    await admin.delete(PersistentVolumeClaims, "data", dev);
    await eventually(
      "PV deleted",
      () =>
        admin.get(PersistentVolumes, pv.metadata!.name!).then(
          () => false,
          (e) => isNotFound(e),
        ),
      60_000,
    );
  });

  it("takes a StorageClass made meanwhile by another binding (AlreadyExists) as no failure", async () => {
    // Two bindings of one new class in two namespaces both find it missing in the cache and create
    // it; the chaos suite caught the loser failing its reconcile. Made deterministic here: the
    // reconciler's class cache is stopped before the running manager makes the class.
    const shared = `shared-${suffix}`;
    const inf = <T extends KubeObject>(rt: ResourceType) =>
      new Informer<T>(rt, admin, silentLogger, { resyncMs: 0 });
    const caches = {
      bindings: inf<StorageClassBinding>(StorageClassBindingResource),
      svns: inf<SupervisorNamespace>(SupervisorNamespaceResource),
      classes: inf<V1StorageClass & KubeObject>(StorageClasses),
      quotas: inf<V1ResourceQuota & KubeObject>(ResourceQuotas),
      namespaces: inf<V1Namespace & KubeObject>(Namespaces),
    };
    const all = Object.values(caches);
    for (const i of all) i.start();
    try {
      await Promise.all(all.map((i) => i.waitForSync()));
      caches.classes.stop();
      // The running manager binds it and makes the class; our class cache never sees it.
      await admin.create(StorageClassBindingResource, {
        apiVersion: "vsphere.pacific.dev/v1alpha1",
        kind: "StorageClassBinding",
        metadata: { name: `${dev}-${shared}` },
        spec: { namespace: dev, storageClass: shared, limit: "1Gi" },
      });
      await eventually("the class made", async () => !!(await admin.get(StorageClasses, shared)));
      await eventually(
        "the binding in the cache",
        async () => !!caches.bindings.store.get(`${dev}-${shared}`),
      );
      expect(caches.classes.store.get(shared)).toBeUndefined();
      const r = new StorageClassBindingReconciler(
        admin,
        {
          bindings: caches.bindings.store,
          svns: caches.svns.store,
          classes: caches.classes.store,
          quotas: caches.quotas.store,
          namespaces: caches.namespaces.store,
        },
        new EventRecorder(admin, "e2e", "e2e", silentLogger),
      );
      expect(await r.reconcile({ name: `${dev}-${shared}` }, silentLogger)).toEqual({ requeueAfter: 500 });
    } finally {
      for (const i of all) i.stop();
      await admin.delete(StorageClassBindingResource, `${dev}-${shared}`);
      await admin.delete(StorageClasses, shared).catch(() => undefined);
    }
  });

  it("rejects at admission a PVC whose class is not bound to the namespace", async () => {
    const r = await outcome(admin.create(PersistentVolumeClaims, pvc("unbound", dev, "some-other-class")));
    expect(r.code).toBe(403);
    expect(r.message).toContain("storage class some-other-class is not bound to Supervisor Namespace");
  });

  it("leaves a PVC Pending with ProvisioningFailed when its datastore is full", async () => {
    await admin.create(StorageClassBindingResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "StorageClassBinding",
      metadata: { name: `${dev}-${tiny}` },
      spec: { namespace: dev, storageClass: tiny, limit: "10Gi" },
    });
    await eventually("tiny listed on the namespace", async () =>
      (await admin.get<V1Namespace>(Namespaces, dev)).metadata?.annotations?.[
        "vsphere.pacific.dev/storage-classes"
      ]
        ?.split(",")
        .includes(tiny),
    );
    await admin.create(PersistentVolumeClaims, pvc("too-big", dev, tiny, "2Gi"));
    const ev = await eventually("ProvisioningFailed event", async () => {
      const list = await admin.list<
        KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }
      >(events, { namespace: dev });
      return list.items.find((e) => e.reason === "ProvisioningFailed" && e.regarding?.name === "too-big");
    });
    expect(ev.note).toContain("free");
    expect(
      (await admin.get<V1PersistentVolumeClaim>(PersistentVolumeClaims, "too-big", dev)).status?.phase,
    ).toBe("Pending");
  });

  it("deleting the SupervisorNamespace removes everything it made, then itself", async () => {
    await admin.delete(SupervisorNamespaceResource, dev);
    const removing = await eventually("Removing", async () => {
      const x = await admin.get<SupervisorNamespace>(SupervisorNamespaceResource, dev).catch(() => undefined);
      return (!x || x.status?.configStatus === "Removing") && (x ?? true);
    });
    expect(removing).toBeTruthy();
    await eventually(
      "namespace gone",
      () =>
        admin.get(Namespaces, dev).then(
          () => false,
          (e) => isNotFound(e),
        ),
      120_000,
      1000,
    );
    await eventually(
      "SupervisorNamespace gone",
      () =>
        admin.get(SupervisorNamespaceResource, dev).then(
          () => false,
          (e) => isNotFound(e),
        ),
      30_000,
    );
  });
});

describe("the manager as the chart's ServiceAccount", () => {
  it("was never refused by the API server (the chart's RBAC covers every request)", async () => {
    await expectNoForbidden(mgr);
  });
});
