// The Cluster reconciler as the topology controller, against the in-memory client: what a topology
// makes and in which order, the endpoint, scaling and a pool taken out, a class that is not there,
// a hand edit put back, a Cluster without a topology left alone. Caches are rebuilt from the fake
// before each pass, as the informers would deliver the writes.
import { describe, expect, it } from "vitest";
import { type Cluster, ClusterResource } from "../../api/cluster/cluster.ts";
import { type ClusterClass, ClusterClassResource } from "../../api/cluster/clusterclass.ts";
import { type MachineDeployment, MachineDeploymentResource } from "../../api/cluster/machinedeployment.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesRelease,
  TanzuKubernetesReleaseResource,
} from "../../api/run/tanzukubernetesrelease.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../api/vmoperator/virtualmachineservice.ts";
import type { V1Beta1Condition } from "../../runtime/capiconditions.ts";
import type { Condition } from "../../runtime/conditions.ts";
import { type ResourceType, Secrets } from "../../runtime/resource.ts";
import { FakeClient } from "../../runtime/testing/fakeclient.ts";
import { storeFrom } from "../../runtime/testing/stores.ts";
import { asClusterTopology } from "../../shared/topology/types.ts";
import { type ClusterCaches, ClusterReconciler } from "./reconciler.ts";

const NS = "dev";
const req = { namespace: NS, name: "c1" };

const release: TanzuKubernetesRelease = {
  apiVersion: "run.tanzu.vmware.com/v1alpha3",
  kind: "TanzuKubernetesRelease",
  metadata: { name: "v1.26.5---vmware.2-fips.1-tkg.1" },
  spec: { version: "v1.26.5+vmware.2-fips.1-tkg.1", kubernetes: { version: "v1.26.5+vmware.2" } },
};
const clusterClass = {
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "ClusterClass",
  metadata: { name: "tanzukubernetescluster", namespace: NS },
  spec: { workers: { machineDeployments: [{ class: "node-pool" }] } },
} as unknown as ClusterClass;

const cluster = (pools = ["np-1", "np-2"]): Cluster => ({
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "Cluster",
  metadata: { name: "c1", namespace: NS },
  spec: {
    topology: asClusterTopology({
      class: "tanzukubernetescluster",
      version: "v1.26.5+vmware.2-fips.1-tkg.1",
      controlPlane: { replicas: 3 },
      workers: {
        machineDeployments: pools.map((name) => ({
          class: "node-pool",
          name,
          replicas: 2,
          variables: { overrides: [{ name: "vmClass", value: `${name}-class` }] },
        })),
      },
      variables: [
        { name: "vmClass", value: "best-effort-medium" },
        { name: "storageClass", value: "vsan" },
      ],
    }),
  },
});

function world(c: Cluster = cluster(), withClass = true): FakeClient {
  return new FakeClient(
    [ClusterResource, c],
    [TanzuKubernetesReleaseResource, release],
    ...(withClass ? ([[ClusterClassResource, clusterClass]] as Array<[ResourceType, ClusterClass]>) : []),
  );
}

async function caches(c: FakeClient): Promise<ClusterCaches> {
  return {
    clusters: await storeFrom(c, ClusterResource),
    classes: await storeFrom(c, ClusterClassResource),
    kcps: await storeFrom(c, KubeadmControlPlaneResource),
    mds: await storeFrom(c, MachineDeploymentResource),
    releases: await storeFrom(c, TanzuKubernetesReleaseResource),
    vmServices: await storeFrom(c, VirtualMachineServiceResource),
  };
}

const events: Array<{ type: string; reason: string; note: string }> = [];
const reconciler = async (c: FakeClient) =>
  new ClusterReconciler(c, await caches(c), {
    event: (_o, type, reason, _a, note) => void events.push({ type, reason, note }),
  });
const pass = async (c: FakeClient) => (await reconciler(c)).reconcile(req);

const created = (c: FakeClient, rt: ResourceType) =>
  c.actions.filter((a) => a.verb === "create" && a.kind === rt.kind).map((a) => a.key);
const cond = (c: FakeClient, type: string) =>
  (c.peek(ClusterResource, "c1", NS)?.status?.conditions as V1Beta1Condition[] | undefined)?.find(
    (x) => x.type === type,
  );

describe("ClusterReconciler (topology)", () => {
  it("makes the control plane, the pools and the endpoint, then the kubeconfig once there is a VIP", async () => {
    const c = world();
    await pass(c);
    expect(created(c, KubeadmControlPlaneResource)).toEqual([`${NS}/c1-control-plane`]);
    expect(created(c, MachineDeploymentResource)).toEqual([`${NS}/c1-np-1`, `${NS}/c1-np-2`]);
    expect(created(c, VirtualMachineServiceResource)).toEqual([`${NS}/c1-control-plane-service`]);
    expect(created(c, Secrets)).toEqual([]); // no VIP yet
    const cl = c.peek(ClusterResource, "c1", NS) as Cluster;
    expect(cl.spec.controlPlaneRef).toEqual({
      apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
      kind: "KubeadmControlPlane",
      name: "c1-control-plane",
      namespace: NS,
    });
    const kcp = c.peek(KubeadmControlPlaneResource, "c1-control-plane", NS) as KubeadmControlPlane;
    expect(kcp.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Cluster", uid: cl.metadata.uid });
    const md = c.peek(MachineDeploymentResource, "c1-np-2", NS) as MachineDeployment;
    expect(md.spec.template.metadata?.annotations?.["vsphere.pacific.dev/vm-class"]).toBe("np-2-class");
    expect(cond(c, "TopologyReconciled")).toMatchObject({ status: "True" });
    expect(cond(c, "InfrastructureReady")).toMatchObject({ status: "False", severity: "Info" });
    expect(cl.status?.phase).toBe("Provisioning");
    const v1beta2 = (cl.status?.v1beta2 as { conditions: Condition[] } | undefined)?.conditions ?? [];
    expect(v1beta2.find((x) => x.type === "TopologyReconciled")).toMatchObject({
      status: "True",
      reason: "ReconcileSucceeded",
    });

    await c.patch<VirtualMachineService>(
      VirtualMachineServiceResource,
      "c1-control-plane-service",
      NS,
      { status: { loadBalancer: { ingress: [{ ip: "127.0.143.1" }] } } },
      { subresource: "status" },
    );
    await pass(c);
    expect(created(c, Secrets)).toEqual([`${NS}/c1-kubeconfig`]);
    const after = c.peek(ClusterResource, "c1", NS) as Cluster;
    expect(after.spec.controlPlaneEndpoint).toEqual({ host: "127.0.143.1", port: 6443 });
    expect(after.status?.phase).toBe("Provisioned");

    // Settled: a further pass of the same reconciler writes nothing.
    const r = await reconciler(c);
    await r.reconcile(req);
    const before = c.actions.length;
    await r.reconcile(req);
    expect(c.actions.slice(before)).toEqual([]);
  });

  it("scales, puts a hand edit back, and removes a pool taken out of the topology in the foreground", async () => {
    const c = world();
    await pass(c);
    await c.patch(KubeadmControlPlaneResource, "c1-control-plane", NS, { spec: { replicas: 5 } }); // a hand edit
    const one = cluster(["np-1"]).spec.topology as {
      workers: { machineDeployments: Array<{ replicas: number }> };
    };
    (one.workers.machineDeployments[0] as { replicas: number }).replicas = 4;
    await c.patch(ClusterResource, "c1", NS, {
      spec: { topology: { workers: one.workers } },
    });
    await pass(c);
    expect(c.peek(MachineDeploymentResource, "c1-np-1", NS)?.spec.replicas).toBe(4);
    expect(c.peek(KubeadmControlPlaneResource, "c1-control-plane", NS)?.spec.replicas).toBe(3);
    expect(c.actions.filter((a) => a.verb === "delete")).toEqual([
      {
        verb: "delete",
        kind: "MachineDeployment",
        key: `${NS}/c1-np-2`,
        body: { propagationPolicy: "Foreground" },
      },
    ]);
  });

  it("reports a class that is not there (TopologyReconciled False, the class named, one event), making nothing", async () => {
    events.length = 0;
    const c = world(cluster(), false);
    await pass(c);
    await pass(c);
    expect(cond(c, "TopologyReconciled")).toMatchObject({
      status: "False",
      severity: "Error",
      reason: "ClusterClassNotFound",
      message: "ClusterClass dev/tanzukubernetescluster (spec.topology.class) not found",
    });
    expect(events).toEqual([
      {
        type: "Warning",
        reason: "ClusterClassNotFound",
        note: "ClusterClass dev/tanzukubernetescluster (spec.topology.class) not found",
      },
    ]);
    for (const rt of [KubeadmControlPlaneResource, MachineDeploymentResource, VirtualMachineServiceResource])
      expect(created(c, rt)).toEqual([]);
  });

  it("leaves a Cluster without a topology to its owner: status only", async () => {
    const c = world({ ...cluster(), spec: {} });
    await pass(c);
    expect(c.actions.map((a) => `${a.verb} ${a.kind}`)).toEqual(["patch Cluster"]);
    expect(cond(c, "TopologyReconciled")).toBeUndefined();
    expect(cond(c, "Ready")).toMatchObject({ status: "False" });
  });
});
