// The TKC reconciler's decisions against the in-memory client: what it makes, how it deletes, and
// how a Conflict and a NotFound end. The caches are rebuilt from the fake after each pass, as the
// informers would deliver the writes.
import type { V1Namespace } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { type Cluster, ClusterResource } from "../../api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../../api/cluster/machine.ts";
import { MachineDeploymentResource } from "../../api/cluster/machinedeployment.ts";
import { CapiLabels, GuestAnnotations, STORAGE_CLASSES_ANNOTATION } from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../api/run/tanzukubernetescluster.ts";
import {
  type TanzuKubernetesRelease,
  TanzuKubernetesReleaseResource,
} from "../../api/run/tanzukubernetesrelease.ts";
import { VirtualMachineResource } from "../../api/vmoperator/virtualmachine.ts";
import { VirtualMachineClassResource } from "../../api/vmoperator/virtualmachineclass.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../api/vmoperator/virtualmachineservice.ts";
import type { KubeObject } from "../../runtime/client.ts";
import { conditionOf } from "../../runtime/conditions.ts";
import { ApiError } from "../../runtime/errors.ts";
import { silentLogger } from "../../runtime/log.ts";
import { keyFor, Namespaces, type ResourceType, Secrets } from "../../runtime/resource.ts";
import { conflict, FakeClient, notFound } from "../../runtime/testing/fakeclient.ts";
import { storeFrom } from "../../runtime/testing/stores.ts";
import { names } from "./desired.ts";
import { CLUSTER_INDEX, FINALIZER, type TKCCaches, TKCReconciler } from "./reconciler.ts";

const NS = "dev";
const TKR = "v1.23.8---vmware.3-tkg.1";
const req = { namespace: NS, name: "tkc-1" };

const tkc = (finalizers: string[] = []): TanzuKubernetesCluster =>
  ({
    apiVersion: "run.tanzu.vmware.com/v1alpha3",
    kind: "TanzuKubernetesCluster",
    metadata: { name: "tkc-1", namespace: NS, finalizers },
    spec: {
      topology: {
        controlPlane: {
          replicas: 1,
          vmClass: "best-effort-small",
          storageClass: "vsan",
          tkr: { reference: { name: TKR } },
        },
        nodePools: [
          { name: "a", replicas: 2, vmClass: "best-effort-small", storageClass: "vsan" },
          { name: "b", replicas: 1, vmClass: "best-effort-small", storageClass: "vsan" },
        ],
      },
    },
  }) as TanzuKubernetesCluster; // settings are defaulted by the API server

const release: TanzuKubernetesRelease = {
  apiVersion: "run.tanzu.vmware.com/v1alpha3",
  kind: "TanzuKubernetesRelease",
  metadata: { name: TKR },
  spec: { version: "v1.23.8+vmware.3-tkg.1", kubernetes: { version: "v1.23.8+vmware.3" } },
};
const namespace: V1Namespace = {
  metadata: { name: NS, annotations: { [STORAGE_CLASSES_ANNOTATION]: "vsan" } },
};
const vmClass: KubeObject & { spec: object } = {
  apiVersion: "vmoperator.vmware.com/v1alpha3",
  kind: "VirtualMachineClass",
  metadata: { name: "best-effort-small", namespace: NS },
  spec: { hardware: { cpus: 2, memory: "4Gi" } },
};

/** The world a TKC is made in: the release, its VM class and the storage binding. */
function world(t: TanzuKubernetesCluster = tkc()): FakeClient {
  return new FakeClient(
    [TanzuKubernetesClusterResource, t],
    [TanzuKubernetesReleaseResource, release],
    [Namespaces, namespace],
    [VirtualMachineClassResource, vmClass],
  );
}

async function caches(c: FakeClient): Promise<TKCCaches> {
  const byCluster = (m: Machine) => {
    const cluster = m.metadata.labels?.[CapiLabels.clusterName];
    return cluster ? [keyFor(m.metadata.namespace, cluster)] : [];
  };
  return {
    tkcs: await storeFrom(c, TanzuKubernetesClusterResource),
    releases: await storeFrom(c, TanzuKubernetesReleaseResource),
    clusters: await storeFrom(c, ClusterResource),
    kcps: await storeFrom(c, KubeadmControlPlaneResource),
    mds: await storeFrom(c, MachineDeploymentResource),
    machines: await storeFrom(c, MachineResource, { [CLUSTER_INDEX]: byCluster }),
    vms: await storeFrom(c, VirtualMachineResource),
    vmServices: await storeFrom(c, VirtualMachineServiceResource),
    classes: await storeFrom(c, VirtualMachineClassResource),
    namespaces: await storeFrom(c, Namespaces),
  };
}

interface Recorded {
  reason: string;
  type: string;
}

/** One reconcile on caches that hold what the fake holds now. */
async function pass(c: FakeClient, events: Recorded[] = []) {
  const r = new TKCReconciler(c, await caches(c), {
    event: (_o, type, reason) => void events.push({ type, reason }),
  });
  return r.reconcile(req, silentLogger);
}

const created = (c: FakeClient, rt: ResourceType) =>
  c.actions.filter((a) => a.verb === "create" && a.kind === rt.kind).map((a) => a.key);

/** The load balancer's controller at work: the control-plane service gets its VIP. */
async function assignVip(c: FakeClient, ip: string) {
  await c.patch<VirtualMachineService>(
    VirtualMachineServiceResource,
    names.service("tkc-1"),
    NS,
    { status: { loadBalancer: { ingress: [{ ip }] } } },
    { subresource: "status" },
  );
}

/** The topology step's first object (controllers/capi/cluster makes it from the Cluster). */
async function controlPlaneMade(c: FakeClient) {
  await c.create(KubeadmControlPlaneResource, {
    apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
    kind: "KubeadmControlPlane",
    metadata: { name: names.controlPlane("tkc-1"), namespace: NS },
    spec: { replicas: 1, version: "v1.23.8+vmware.3", machineTemplate: {} },
  } as KubeadmControlPlane);
}

/** The topology step's verdict on the TKC's Cluster: TopologyReconciled False with this reason. */
async function refuseTopology(c: FakeClient, reason: string, message: string) {
  const condition = { type: "TopologyReconciled", status: "False", severity: "Error", reason, message };
  await c.patch(
    ClusterResource,
    "tkc-1",
    NS,
    { status: { conditions: [{ ...condition, lastTransitionTime: "2026-01-01T00:00:00Z" }] } },
    { subresource: "status" },
  );
}

describe("TKCReconciler", () => {
  it("adds its finalizer, then makes the Cluster with its topology, and reports what the topology step made", async () => {
    const c = world();
    await pass(c);
    expect(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)?.metadata.finalizers).toEqual([FINALIZER]);
    expect(created(c, ClusterResource)).toEqual([`${NS}/tkc-1`]);

    await pass(c);
    const cluster = c.peek(ClusterResource, "tkc-1", NS) as Cluster;
    expect(cluster.spec.topology).toMatchObject({
      class: "tanzukubernetescluster",
      version: "v1.23.8+vmware.3-tkg.1",
      controlPlane: { replicas: 1 },
    });
    // The TKC makes nothing below the Cluster: that is the topology step's (controllers/capi/cluster).
    for (const rt of [
      KubeadmControlPlaneResource,
      MachineDeploymentResource,
      VirtualMachineServiceResource,
      Secrets,
    ])
      expect(created(c, rt)).toEqual([]);
    // Until the topology step has made the control plane, the TKC writes no status.
    expect(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)?.status).toBeUndefined();
    await controlPlaneMade(c);
    await pass(c);
    const s = c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)?.status;
    expect(s?.phase).toBe("creating");
    expect(s?.totalWorkerReplicas).toBe(3);
    expect(s?.apiEndpoints).toEqual([]);
    expect(s?.conditions?.map((x) => x.type)).toEqual([
      "TanzuKubernetesReleaseCompatible",
      "ControlPlaneReady",
      "NodePoolsReady",
      "NodesHealthy",
      "UpdatesAvailable",
      "GuestControlPlaneReady",
      "Ready",
    ]);
    expect(s?.conditions?.find((x) => x.type === "Ready")?.status).toBe("False");
    // Runtime none (the default): nothing answers, and the TKC says so.
    expect(s?.guestControlPlane).toEqual({ runtime: "none" });
    expect(s?.conditions?.find((x) => x.type === "GuestControlPlaneReady")).toMatchObject({
      status: "False",
      severity: "Info",
      reason: "NoGuestControlPlane",
    });

    // What the topology step makes shows in the TKC's status: the VIP, a pool's readiness.
    await c.create(VirtualMachineServiceResource, {
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachineService",
      metadata: { name: names.service("tkc-1"), namespace: NS },
      spec: { type: "LoadBalancer" },
    } as VirtualMachineService);
    await assignVip(c, "127.0.0.10");
    await pass(c);
    expect(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)?.status?.apiEndpoints).toEqual([
      { host: "127.0.0.10", port: 6443 },
    ]);

    // Nothing left to change: a further pass writes nothing.
    const r = new TKCReconciler(c, await caches(c), { event: () => undefined });
    const before = c.actions.length;
    await r.reconcile(req, silentLogger);
    expect(c.actions.slice(before)).toEqual([]);
  });

  it("takes a pool out of the Cluster's topology when it leaves the spec", async () => {
    const c = world();
    await pass(c);
    await pass(c);
    const t = c.peek(TanzuKubernetesClusterResource, "tkc-1", NS) as TanzuKubernetesCluster;
    await c.patch(TanzuKubernetesClusterResource, "tkc-1", NS, {
      spec: { topology: { ...t.spec.topology, nodePools: [t.spec.topology.nodePools?.[0]] } },
    });
    await pass(c);
    const topology = c.peek(ClusterResource, "tkc-1", NS)?.spec.topology as {
      workers: { machineDeployments: Array<{ name: string }> };
    };
    expect(topology.workers.machineDeployments.map((m) => m.name)).toEqual(["a"]);
  });

  it("fails with a reason and a Warning event when the release is missing, and makes nothing", async () => {
    const c = new FakeClient([TanzuKubernetesClusterResource, tkc([FINALIZER])], [Namespaces, namespace]);
    const events: Recorded[] = [];
    await pass(c, events);
    const s = c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)?.status;
    expect(s?.phase).toBe("failed");
    expect(conditionOf(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS), "Ready")?.reason).toBe(
      "TKRNotFound",
    );
    expect(events).toEqual([{ type: "Warning", reason: "TKRNotFound" }]);
    expect(created(c, ClusterResource)).toEqual([]);
  });

  it("fails with what the topology step could not make of its Cluster (a class missing from the namespace)", async () => {
    const c = world();
    await pass(c);
    await refuseTopology(
      c,
      "ClusterClassNotFound",
      "ClusterClass dev/tanzukubernetescluster (spec.topology.class) not found",
    );
    await pass(c);
    const t = c.peek(TanzuKubernetesClusterResource, "tkc-1", NS);
    expect(t?.status?.phase).toBe("failed");
    expect(conditionOf(t, "Ready")).toMatchObject({ reason: "ClusterClassNotFound" });
    expect(conditionOf(t, "Ready")?.message).toContain("dev/tanzukubernetescluster");
  });

  it("a failed TKC whose guest answers says so (the guest made before the problem still runs)", async () => {
    const c = world();
    await pass(c);
    await pass(c);
    await controlPlaneMade(c);
    await c.patch(KubeadmControlPlaneResource, names.controlPlane("tkc-1"), NS, {
      metadata: { annotations: { [GuestAnnotations.apiServerReady]: "True" } },
    });
    await refuseTopology(c, "TopologyUpgradeRefused", "spec.topology.version: v1.25.7 skips a minor version");
    const r = new TKCReconciler(c, await caches(c), { event: () => undefined }, "local");
    await r.reconcile(req, silentLogger);
    const t = c.peek(TanzuKubernetesClusterResource, "tkc-1", NS);
    expect(t?.status?.phase).toBe("failed");
    expect(conditionOf(t, "GuestControlPlaneReady")?.status).toBe("True");
  });

  it("does not take over a Cluster of the same name that is not its own", async () => {
    const c = world(tkc([FINALIZER]));
    await c.create(ClusterResource, {
      apiVersion: "cluster.x-k8s.io/v1beta1",
      kind: "Cluster",
      metadata: { name: "tkc-1", namespace: NS },
      spec: {},
    });
    await pass(c);
    expect(conditionOf(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS), "Ready")?.reason).toBe(
      "ClusterConflict",
    );
    expect(c.writes("Cluster").filter((a) => a.verb !== "create")).toEqual([]);
  });

  it("on deletion removes the Cluster in the foreground, waits, then lets go", async () => {
    const c = world();
    await pass(c);
    await pass(c);
    await c.delete(TanzuKubernetesClusterResource, "tkc-1", NS); // the finalizer holds it
    expect(await pass(c)).toEqual({ requeueAfter: 2_000 });
    expect(c.actions.at(-1)).toMatchObject({
      verb: "delete",
      kind: "Cluster",
      body: { propagationPolicy: "Foreground" },
    });
    expect(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)?.status?.phase).toBe("deleting");

    // The Cluster is gone, a VM of the cluster is still there (the garbage collector at work).
    expect(c.peek(ClusterResource, "tkc-1", NS)).toBeUndefined();
    await c.create(VirtualMachineResource, {
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachine",
      metadata: {
        name: "tkc-1-control-plane-x",
        namespace: NS,
        labels: { [CapiLabels.clusterName]: "tkc-1" },
      },
      spec: { className: "best-effort-small" },
    });
    expect(await pass(c)).toEqual({ requeueAfter: 2_000 });
    expect(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)).toBeDefined();

    await c.delete(VirtualMachineResource, "tkc-1-control-plane-x", NS);
    expect(await pass(c)).toBeUndefined();
    expect(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)).toBeUndefined(); // finalizer gone: deleted
  });

  it("retries its finalizer on a Conflict, and a Conflict elsewhere fails the reconcile (it is requeued)", async () => {
    const c = world();
    c.failNext("patch", conflict(TanzuKubernetesClusterResource, `${NS}/tkc-1`), "TanzuKubernetesCluster");
    await pass(c);
    expect(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)?.metadata.finalizers).toEqual([FINALIZER]);
    expect(created(c, ClusterResource)).toEqual([`${NS}/tkc-1`]);

    await pass(c);
    await c.patch(ClusterResource, "tkc-1", NS, { spec: { topology: { controlPlane: { replicas: 5 } } } }); // a hand edit
    c.failNext("patch", new ApiError(409, "Conflict", "the object has been modified"), "Cluster");
    await expect(pass(c)).rejects.toThrow(/modified/);
    await pass(c); // the retry puts the spec back
    const topology = c.peek(ClusterResource, "tkc-1", NS)?.spec.topology as
      | { controlPlane: { replicas: number } }
      | undefined;
    expect(topology?.controlPlane.replicas).toBe(1);
  });

  it("takes a NotFound as the end: the TKC gone before its status write, a Cluster already gone on deletion", async () => {
    const c = world(tkc([FINALIZER]));
    await pass(c); // the Cluster is made; no status yet
    await controlPlaneMade(c);
    c.failNext("patch", notFound(TanzuKubernetesClusterResource, "tkc-1"), "TanzuKubernetesCluster");
    await expect(pass(c)).resolves.toBeUndefined(); // the status write met a NotFound: no failure
    expect(created(c, ClusterResource)).toHaveLength(1);
    expect(c.peek(TanzuKubernetesClusterResource, "tkc-1", NS)?.status).toBeUndefined();

    await c.delete(TanzuKubernetesClusterResource, "tkc-1", NS);
    c.failNext("delete", notFound(ClusterResource, "tkc-1"), "Cluster");
    await expect(pass(c)).resolves.toEqual({ requeueAfter: 2_000 });
  });
});
