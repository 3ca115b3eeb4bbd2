// The StorageClassBinding reconciler's decisions against the in-memory FakeClient (the e2e tests in
// test/e2e/supervisor.e2e.ts cover binding against a real API server).
import type { V1StorageClass } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { CSI_DRIVER, storageQuotaName } from "../../api/contracts.ts";
import {
  type StorageClassBinding,
  StorageClassBindingResource,
} from "../../api/vsphere/storageclassbinding.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceResource,
} from "../../api/vsphere/supervisornamespace.ts";
import type { KubeObject } from "../../runtime/client.ts";
import { conditionOf } from "../../runtime/conditions.ts";
import { ApiError } from "../../runtime/errors.ts";
import { silentLogger } from "../../runtime/log.ts";
import { Namespaces, ResourceQuotas, type ResourceType, StorageClasses } from "../../runtime/resource.ts";
import { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { storeFrom } from "../../runtime/testing/stores.ts";
import { storageQuotaKey } from "./desired.ts";
import { type Caches, StorageClassBindingReconciler } from "./reconciler.ts";

const binding: StorageClassBinding = {
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "StorageClassBinding",
  metadata: { name: "dev-gold", uid: "b-uid" },
  spec: { namespace: "dev", storageClass: "gold", limit: "10Gi" },
};
const svns = (encryption = false): SupervisorNamespace => ({
  metadata: { name: "dev", uid: "svns-uid" },
  spec: {
    networkIsolation: true,
    podSecurity: "restricted",
    encryption,
  },
});
// Pacific's Namespace for the SupervisorNamespace: a binding acts only on one it made.
const namespace: KubeObject = {
  metadata: {
    name: "dev",
    ownerReferences: [
      {
        apiVersion: "vsphere.pacific.dev/v1alpha1",
        kind: "SupervisorNamespace",
        name: "dev",
        uid: "svns-uid",
        controller: true,
      },
    ],
  },
};
const seed = (...more: Array<[ResourceType, KubeObject]>): FakeClient =>
  new FakeClient([StorageClassBindingResource, binding], ...more);

function harness(fake: FakeClient) {
  const events: string[] = [];
  const caches = async (): Promise<Caches> => ({
    bindings: await storeFrom(fake, StorageClassBindingResource),
    svns: await storeFrom(fake, SupervisorNamespaceResource),
    classes: await storeFrom(fake, StorageClasses),
    quotas: await storeFrom(fake, ResourceQuotas),
    namespaces: await storeFrom(fake, Namespaces),
  });
  const recorder = { event: (_o: KubeObject, _t: string, reason: string) => void events.push(reason) };
  const reconcile = async (overrides: Partial<Caches> = {}) =>
    new StorageClassBindingReconciler(fake, { ...(await caches()), ...overrides }, recorder).reconcile(
      { name: "dev-gold" },
      silentLogger,
    );
  return { reconcile, events };
}

const stored = (fake: FakeClient) => fake.peek(StorageClassBindingResource, "dev-gold");

describe("StorageClassBindingReconciler", () => {
  it("makes the class and the per-class quota, and reports Bound and Ready", async () => {
    const fake = seed([SupervisorNamespaceResource, svns()], [Namespaces, namespace]);
    const { reconcile } = harness(fake);
    expect(await reconcile()).toBeUndefined();

    const sc = fake.peek(StorageClasses, "gold");
    expect(sc?.provisioner).toBe(CSI_DRIVER);
    expect(sc?.parameters).toEqual({ storagePolicyName: "gold" });
    const quota = fake.peek(ResourceQuotas, storageQuotaName("gold"), "dev");
    expect(quota?.spec?.hard).toEqual({ [storageQuotaKey("gold")]: "10Gi" });
    expect(quota?.metadata?.ownerReferences?.[0]).toMatchObject({ uid: "b-uid", controller: true });
    expect(stored(fake)?.status).toMatchObject({ observedGeneration: 1, limit: "10Gi", used: "0" });
    expect(conditionOf(stored(fake), "Bound")).toMatchObject({ status: "True", reason: "Bound" });
    expect(conditionOf(stored(fake), "Ready")).toMatchObject({ status: "True", reason: "Ready" });

    const before = fake.actions.length;
    expect(await reconcile()).toBeUndefined();
    expect(fake.actions.slice(before)).toEqual([]); // nothing changed, nothing sent
  });

  it("is not Bound without its Supervisor Namespace, and looks again in 30 s", async () => {
    const fake = seed();
    expect(await harness(fake).reconcile()).toEqual({ requeueAfter: 30_000 });
    expect(conditionOf(stored(fake), "Bound")).toMatchObject({
      status: "False",
      reason: "NamespaceNotFound",
    });
    expect(conditionOf(stored(fake), "Ready")).toMatchObject({
      status: "False",
      reason: "NamespaceNotFound",
    });
    expect(fake.peek(StorageClasses, "gold")).toBeUndefined();
  });

  it("a new binding of a Supervisor Namespace not configured yet waits for its Namespace without a write", async () => {
    const fake = seed([SupervisorNamespaceResource, svns()]);
    const { reconcile } = harness(fake);
    expect(await reconcile()).toEqual({ requeueAfter: 2_000 });
    expect(fake.writes("StorageClassBinding")).toEqual([]); // no NamespaceNotReady the next second replaces
    expect(stored(fake)?.status).toBeUndefined();

    await fake.create(Namespaces, namespace);
    expect(await reconcile()).toBeUndefined();
    expect(conditionOf(stored(fake), "Bound")).toMatchObject({ status: "True", reason: "Bound" });
  });

  it("a binding made a moment after its Supervisor Namespace (not cached yet) waits without a write", async () => {
    const fresh = { ...binding, metadata: { ...binding.metadata, creationTimestamp: new Date() } };
    const fake = new FakeClient([StorageClassBindingResource, fresh]);
    const wait = await harness(fake).reconcile();
    expect(wait?.requeueAfter).toBeGreaterThan(0);
    expect(fake.writes("StorageClassBinding")).toEqual([]);
  });

  it("refuses a class that does not encrypt for a namespace that requires it, with an event", async () => {
    const plain: V1StorageClass = { metadata: { name: "gold" }, provisioner: CSI_DRIVER };
    const fake = seed(
      [SupervisorNamespaceResource, svns(true)],
      [Namespaces, namespace],
      [StorageClasses, plain],
    );
    const { reconcile, events } = harness(fake);
    expect(await reconcile()).toEqual({ requeueAfter: 30_000 });
    expect(conditionOf(stored(fake), "Bound")).toMatchObject({ reason: "EncryptionRequired" });
    expect(events).toEqual(["EncryptionRequired"]);
    expect(fake.peek(ResourceQuotas, storageQuotaName("gold"), "dev")).toBeUndefined();
    // Looked at again (every 30 s, every change of the Supervisor Namespace): no second event.
    const before = fake.actions.length;
    expect(await reconcile()).toEqual({ requeueAfter: 30_000 });
    expect(events).toEqual(["EncryptionRequired"]);
    expect(fake.actions.slice(before)).toEqual([]);
  });

  it("waits 2 s for the Namespace, and will not take over another binding's quota", async () => {
    const configured = { ...svns(), status: { configStatus: "Running" as const } };
    const fake = seed([SupervisorNamespaceResource, configured]);
    expect(await harness(fake).reconcile()).toEqual({ requeueAfter: 2_000 });
    expect(conditionOf(stored(fake), "Bound")).toMatchObject({ reason: "NamespaceNotReady" });

    await fake.create(Namespaces, namespace);
    await fake.create(ResourceQuotas, {
      metadata: {
        name: storageQuotaName("gold"),
        namespace: "dev",
        ownerReferences: [
          {
            apiVersion: "vsphere.pacific.dev/v1alpha1",
            kind: "StorageClassBinding",
            name: "x",
            uid: "x",
            controller: true,
          },
        ],
      },
      spec: { hard: { [storageQuotaKey("gold")]: "1Gi" } },
    });
    expect(await harness(fake).reconcile()).toEqual({ requeueAfter: 30_000 });
    expect(conditionOf(stored(fake), "Bound")).toMatchObject({ reason: "DuplicateBinding" });
    expect(fake.peek(ResourceQuotas, storageQuotaName("gold"), "dev")?.spec?.hard).toEqual({
      [storageQuotaKey("gold")]: "1Gi",
    });
  });

  it("puts back a limit changed by hand (quantities compared as numbers)", async () => {
    const fake = seed([SupervisorNamespaceResource, svns()], [Namespaces, namespace]);
    const { reconcile } = harness(fake);
    await reconcile();
    const name = storageQuotaName("gold");
    await fake.patch(ResourceQuotas, name, "dev", {
      spec: { hard: { [storageQuotaKey("gold")]: "10240Mi" } },
    });
    const before = fake.actions.length;
    await reconcile();
    expect(fake.actions.slice(before)).toEqual([]); // 10240Mi is 10Gi
    await fake.patch(ResourceQuotas, name, "dev", {
      spec: { hard: { [storageQuotaKey("gold")]: "1Ti", x: "1" } },
    });
    await reconcile();
    expect(fake.peek(ResourceQuotas, name, "dev")?.spec?.hard).toEqual({ [storageQuotaKey("gold")]: "10Gi" });
  });

  it("a class another binding made a moment ago (AlreadyExists, a 409): looks again in 500 ms", async () => {
    const fake = seed([SupervisorNamespaceResource, svns()], [Namespaces, namespace]);
    fake.failNext(
      "create",
      new ApiError(409, "AlreadyExists", 'storageclasses "gold" already exists'),
      "StorageClass",
    );
    expect(await harness(fake).reconcile()).toEqual({ requeueAfter: 500 });
    expect(stored(fake)?.status).toBeUndefined(); // nothing to report yet
  });

  it("a Conflict on the quota write is a failure to retry (the queue backs off)", async () => {
    const fake = seed([SupervisorNamespaceResource, svns()], [Namespaces, namespace]);
    fake.failNext("create", new ApiError(409, "Conflict", "the object has been modified"), "ResourceQuota");
    await expect(harness(fake).reconcile()).rejects.toThrow("modified");
    expect(stored(fake)?.status).toBeUndefined();
  });

  it("a binding deleted meanwhile (NotFound on the status write) is no failure", async () => {
    const fake = seed([SupervisorNamespaceResource, svns()], [Namespaces, namespace]);
    const { reconcile } = harness(fake);
    const cached = await storeFrom(fake, StorageClassBindingResource);
    await fake.delete(StorageClassBindingResource, "dev-gold");
    expect(await reconcile({ bindings: cached })).toBeUndefined();
  });

  it("does nothing for a binding being deleted (its quota goes with it)", async () => {
    const deleting = { ...binding, metadata: { ...binding.metadata, deletionTimestamp: new Date() } };
    const fake = new FakeClient(
      [StorageClassBindingResource, deleting],
      [SupervisorNamespaceResource, svns()],
    );
    expect(await harness(fake).reconcile()).toBeUndefined();
    expect(fake.actions).toEqual([]);
  });
});
