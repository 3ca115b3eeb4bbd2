// The SupervisorNamespace reconciler's decisions against the in-memory FakeClient (e2e tests in
// test/e2e/supervisor.e2e.ts cover the same against a real API server).
import { describe, expect, it } from "vitest";
import { LIMITS_QUOTA_NAME, SUPERVISOR_NAMESPACE_FINALIZER, WORKLOADS_FINALIZER } from "../api/contracts.ts";
import { VirtualMachineClassResource } from "../api/vmoperator/virtualmachineclass.ts";
import { StorageClassBindingResource } from "../api/vsphere/storageclassbinding.ts";
import { type SupervisorNamespace, SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import { VSpherePodResource } from "../api/vsphere/vspherepod.ts";
import type { KubeObject } from "../runtime/client.ts";
import { conditionOf } from "../runtime/conditions.ts";
import { ApiError } from "../runtime/errors.ts";
import { silentLogger } from "../runtime/log.ts";
import {
  LimitRanges,
  Namespaces,
  NetworkPolicies,
  ResourceQuotas,
  RoleBindings,
} from "../runtime/resource.ts";
import { byControllerUid, Store } from "../runtime/store.ts";
import { FakeClient } from "../runtime/testing/fakeclient.ts";
import { storeFrom } from "../runtime/testing/stores.ts";
import { type Caches, OWNER_INDEX, SupervisorNamespaceReconciler } from "./reconciler.ts";

const svns: SupervisorNamespace = {
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "SupervisorNamespace",
  metadata: { name: "dev", uid: "svns-uid" },
  spec: {
    networkIsolation: true,
    podSecurity: "restricted",
    encryption: false,
    limits: { cpu: 4 },
    access: [{ subjectType: "User", subject: "alice", domain: "vsphere.local", role: "Owner" }],
    vmClasses: ["best-effort-small"],
  },
};

interface Event {
  type: string;
  reason: string;
}

/** A reconciler over caches rebuilt from the fake before every visit (a synced informer). */
function harness(fake: FakeClient) {
  const events: Event[] = [];
  const recorder = {
    event: (_o: KubeObject, type: string, reason: string) => void events.push({ type, reason }),
  };
  const caches = async (): Promise<Caches> => ({
    svns: await storeFrom(fake, SupervisorNamespaceResource),
    bindings: await storeFrom(fake, StorageClassBindingResource),
    namespaces: await storeFrom(fake, Namespaces),
    quotas: await storeFrom(fake, ResourceQuotas),
    limitRanges: await storeFrom(fake, LimitRanges),
    roleBindings: await storeFrom(fake, RoleBindings, { [OWNER_INDEX]: byControllerUid }),
    networkPolicies: await storeFrom(fake, NetworkPolicies),
    vmClasses: await storeFrom(fake, VirtualMachineClassResource, { [OWNER_INDEX]: byControllerUid }),
    workloads: [VSpherePodResource],
  });
  const reconcile = async (overrides: Partial<Caches> = {}) =>
    new SupervisorNamespaceReconciler(fake, { ...(await caches()), ...overrides }, recorder).reconcile(
      { name: "dev" },
      silentLogger,
    );
  return { reconcile, events };
}

const stored = (fake: FakeClient) => fake.peek(SupervisorNamespaceResource, "dev");

describe("SupervisorNamespaceReconciler", () => {
  it("makes the Namespace, its children (LimitRange before ResourceQuota) and reports Running", async () => {
    const fake = new FakeClient([SupervisorNamespaceResource, svns]);
    const { reconcile } = harness(fake);
    expect(await reconcile()).toBeUndefined();

    expect(stored(fake)?.metadata.finalizers).toEqual([SUPERVISOR_NAMESPACE_FINALIZER]);
    const ns = fake.peek(Namespaces, "dev");
    expect(ns?.metadata?.finalizers).toEqual([WORKLOADS_FINALIZER]);
    expect(ns?.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(ns?.metadata?.ownerReferences?.[0]?.uid).toBe("svns-uid");
    const created = fake
      .writes()
      .filter((a) => a.verb === "create")
      .map((a) => a.kind);
    expect(created.indexOf("LimitRange")).toBeLessThan(created.indexOf("ResourceQuota"));
    expect(fake.peek(ResourceQuotas, LIMITS_QUOTA_NAME, "dev")?.spec?.hard).toEqual({
      "limits.cpu": "4",
      "services.loadbalancers": "16",
    });
    expect(fake.peek(NetworkPolicies, "pacific-isolation", "dev")).toBeDefined();
    expect((await fake.list(RoleBindings, { namespace: "dev" })).items).toHaveLength(2);
    expect(fake.peek(VirtualMachineClassResource, "best-effort-small", "dev")?.spec.hardware?.cpus).toBe(2);

    const status = stored(fake)?.status;
    expect(status?.configStatus).toBe("Running");
    expect(status?.vmClasses).toEqual(["best-effort-small"]);
    for (const type of ["NamespaceReady", "VMClassesReady", "Ready"])
      expect(conditionOf(stored(fake), type)).toMatchObject({ status: "True", observedGeneration: 1 });
  });

  it("writes nothing on a second visit, and puts back a quota changed by hand", async () => {
    const fake = new FakeClient([SupervisorNamespaceResource, svns]);
    const { reconcile } = harness(fake);
    await reconcile();
    const before = fake.actions.length;
    await reconcile();
    expect(fake.actions.slice(before)).toEqual([]);

    await fake.patch(ResourceQuotas, LIMITS_QUOTA_NAME, "dev", {
      spec: { hard: { "limits.cpu": "64", pods: "9" } },
    });
    await reconcile();
    expect(fake.peek(ResourceQuotas, LIMITS_QUOTA_NAME, "dev")?.spec?.hard).toEqual({
      "limits.cpu": "4",
      "services.loadbalancers": "16",
    });
  });

  it("takes an AlreadyExists on a quota the cache has not seen yet as its own create: no read, no failure", async () => {
    // The chart grants no get on quotas or LimitRanges (a read is refused, 403), and there is
    // nothing to read: the informer only lags a create of this controller's.
    const fake = new FakeClient([SupervisorNamespaceResource, svns]);
    const { reconcile } = harness(fake);
    await reconcile();
    fake.get = () => Promise.reject(new ApiError(403, "Forbidden", "no get on resourcequotas"));
    const before = fake.actions.length;
    await expect(reconcile({ quotas: new Store() })).resolves.toBeUndefined();
    expect(fake.actions.slice(before).map((a) => `${a.verb} ${a.kind}`)).toEqual(["create ResourceQuota"]);
  });

  it("reports 0 used in a Namespace it just made: kube-controller-manager's first count is no second status write", async () => {
    const fake = new FakeClient([SupervisorNamespaceResource, svns]);
    const { reconcile } = harness(fake);
    await reconcile();
    expect(stored(fake)?.status?.usage).toEqual({ cpu: "0" });
    await fake.patch(
      ResourceQuotas,
      LIMITS_QUOTA_NAME,
      "dev",
      { status: { used: { "limits.cpu": "0", "services.loadbalancers": "0" } } },
      { subresource: "status" },
    );
    const before = fake.actions.length;
    await reconcile();
    expect(fake.writes("SupervisorNamespace").length).toBe(2); // the finalizer, the one status
    expect(fake.actions.slice(before)).toEqual([]);
  });

  it("on deletion reports Removing, deletes the Namespace, and removes its finalizer once it is gone", async () => {
    const fake = new FakeClient([SupervisorNamespaceResource, svns]);
    const { reconcile } = harness(fake);
    await reconcile();
    await fake.delete(SupervisorNamespaceResource, "dev");

    expect(await reconcile()).toEqual({ requeueAfter: 2_000 });
    expect(stored(fake)?.status?.configStatus).toBe("Removing");
    expect(fake.peek(Namespaces, "dev")?.metadata?.deletionTimestamp).toBeDefined();

    // The namespace controller has emptied it (no spec finalizer): a VSpherePod it missed is deleted,
    // and the Namespace is let go on the next visit.
    await fake.create(VSpherePodResource, { metadata: { name: "left", namespace: "dev" }, spec: {} });
    expect(await reconcile()).toEqual({ requeueAfter: 2_000 });
    expect(fake.peek(VSpherePodResource, "left", "dev")).toBeUndefined();
    expect(fake.peek(Namespaces, "dev")).toBeDefined();
    await reconcile();
    expect(fake.peek(Namespaces, "dev")).toBeUndefined();

    expect(await reconcile()).toBeUndefined();
    expect(stored(fake)).toBeUndefined(); // the finalizer went last, and with it the object
  });

  it("retries its finalizer on a Conflict, on a fresh copy (others' changes kept)", async () => {
    const fake = new FakeClient([SupervisorNamespaceResource, svns]);
    const cached = await storeFrom(fake, SupervisorNamespaceResource);
    // Changed on the server since the cache saw it: the finalizer patch's resourceVersion is stale.
    await fake.patch(SupervisorNamespaceResource, "dev", undefined, { metadata: { labels: { team: "a" } } });
    const before = fake.actions.length;
    expect(await harness(fake).reconcile({ svns: cached })).toBeUndefined();
    const finalizerPatches = fake.actions
      .slice(before)
      .filter((a) => a.kind === "SupervisorNamespace" && a.verb === "patch" && !a.subresource);
    expect(finalizerPatches).toHaveLength(2); // the one that conflicted, and the retry
    expect(stored(fake)?.metadata.finalizers).toEqual([SUPERVISOR_NAMESPACE_FINALIZER]);
    expect(stored(fake)?.metadata.labels).toEqual({ team: "a" });
    expect(stored(fake)?.status?.configStatus).toBe("Running");
  });

  it("does not adopt a Namespace it did not make: NamespaceConflict, one event", async () => {
    const fake = new FakeClient(
      [SupervisorNamespaceResource, svns],
      [Namespaces, { metadata: { name: "dev", labels: { team: "theirs" } } }],
    );
    const { reconcile, events } = harness(fake);
    await reconcile();
    await reconcile();
    expect(stored(fake)?.status?.configStatus).toBe("Error");
    expect(conditionOf(stored(fake), "Ready")).toMatchObject({
      status: "False",
      reason: "NamespaceConflict",
    });
    expect(fake.peek(Namespaces, "dev")?.metadata?.labels).toEqual({ team: "theirs" });
    expect(fake.peek(ResourceQuotas, LIMITS_QUOTA_NAME, "dev")).toBeUndefined();
    expect(events).toEqual([{ type: "Warning", reason: "NamespaceConflict" }]);
  });

  it("makes nothing for a SupervisorNamespace deleted after the cache saw it (NotFound)", async () => {
    const fake = new FakeClient([SupervisorNamespaceResource, svns]);
    const cached = await storeFrom(fake, SupervisorNamespaceResource);
    await fake.delete(SupervisorNamespaceResource, "dev"); // gone on the server, still in the cache
    expect(await harness(fake).reconcile({ svns: cached })).toBeUndefined();
    expect(fake.peek(Namespaces, "dev")).toBeUndefined();
  });

  it("treats a status write to an object just deleted (NotFound) as no failure", async () => {
    const fake = new FakeClient([SupervisorNamespaceResource, svns]);
    fake.failNext("patch", new ApiError(404, "NotFound", "gone"), "SupervisorNamespace");
    // The finalizer patch answers NotFound: the object went between the cache and the write.
    await expect(harness(fake).reconcile()).resolves.toBeUndefined();
  });
});
