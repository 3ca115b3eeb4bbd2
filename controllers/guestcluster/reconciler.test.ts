// The guest-cluster reconciler against the in-memory client and a fake local runtime: what the
// guest's /readyz answers is recorded on the KCP (only when it changes), and the add-ons are applied
// all at first, then only those missing.
import type { V1Secret } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { type Cluster, ClusterResource } from "../api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../api/cluster/machine.ts";
import { CapiLabels, GuestAnnotations } from "../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../api/run/tanzukubernetescluster.ts";
import type { KubeObject } from "../runtime/client.ts";
import { silentLogger } from "../runtime/log.ts";
import { type ResourceType, Secrets } from "../runtime/resource.ts";
import { Store } from "../runtime/store.ts";
import { FakeClient } from "../runtime/testing/fakeclient.ts";
import type { EnsureResult, GuestRuntime, GuestSpec } from "./controlplane.ts";
import { GuestClusterReconciler } from "./reconciler.ts";

const NS = "dev";

/** The runtime's I/O, faked: the guest answers when `ready`; `missing` paths are not in the guest. */
class FakeRuntime implements GuestRuntime {
  constructor(readonly loopbackOnly = true) {}
  ready_ = false;
  readonly specs: GuestSpec[] = [];
  readonly applied: string[] = [];
  readonly missing = new Set<string>();
  async ensure(s: GuestSpec): Promise<EnsureResult> {
    this.specs.push(s);
    return { adopted: [], started: [], pending: [] };
  }
  async ready(_s: GuestSpec): Promise<boolean> {
    return this.ready_;
  }
  async version(_s: GuestSpec): Promise<string | undefined> {
    return this.ready_ ? "v1.37.2" : undefined;
  }
  async exists(_s: GuestSpec, path: string): Promise<boolean | undefined> {
    return !this.missing.has(path);
  }
  async apply(_s: GuestSpec, path: string, _o: object, _fm: string): Promise<void> {
    this.applied.push(path);
    this.missing.delete(path);
  }
  async stop(): Promise<void> {}
}

function seed(vip = "127.0.100.1"): FakeClient {
  const tkc = {
    apiVersion: "run.tanzu.vmware.com/v1alpha3",
    kind: "TanzuKubernetesCluster",
    metadata: { name: "c1", namespace: NS, uid: "tkc-uid" },
    spec: {
      topology: { controlPlane: { replicas: 1, storageClass: "gold" } },
      settings: { network: { cni: { name: "calico" } }, storage: { defaultClass: "gold" } },
    },
  } as unknown as TanzuKubernetesCluster;
  const cluster = {
    apiVersion: "cluster.x-k8s.io/v1beta1",
    kind: "Cluster",
    metadata: {
      name: "c1",
      namespace: NS,
      uid: "cluster-uid",
      ownerReferences: [
        {
          apiVersion: "run.tanzu.vmware.com/v1alpha3",
          kind: "TanzuKubernetesCluster",
          name: "c1",
          uid: "tkc-uid",
          controller: true,
        },
      ],
    },
    spec: {
      controlPlaneEndpoint: { host: vip, port: 6443 },
      controlPlaneRef: {
        apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
        kind: "KubeadmControlPlane",
        name: "c1-control-plane",
        namespace: NS,
      },
    },
  } as unknown as Cluster;
  const kcp = {
    apiVersion: "controlplane.cluster.x-k8s.io/v1beta1",
    kind: "KubeadmControlPlane",
    metadata: { name: "c1-control-plane", namespace: NS, labels: { [CapiLabels.clusterName]: "c1" } },
    spec: {
      replicas: 1,
      version: "v1.33.1+vmware.1",
      machineTemplate: { infrastructureRef: {} },
      kubeadmConfigSpec: {},
    },
  } as unknown as KubeadmControlPlane;
  const machine = {
    apiVersion: "cluster.x-k8s.io/v1beta1",
    kind: "Machine",
    metadata: {
      name: "c1-control-plane-1",
      namespace: NS,
      labels: { [CapiLabels.clusterName]: "c1", [CapiLabels.controlPlane]: "" },
    },
    spec: { clusterName: "c1" },
    status: { nodeRef: { name: "c1-control-plane-1" } },
  } as unknown as Machine;
  return new FakeClient(
    [TanzuKubernetesClusterResource, tkc],
    [ClusterResource, cluster],
    [KubeadmControlPlaneResource, kcp],
    [MachineResource, machine],
  );
}

/** One reconciler (it remembers what it applied) whose caches are refreshed before each pass. */
function driver(c: FakeClient, rt: FakeRuntime) {
  const stores = {
    clusters: new Store<Cluster>(),
    machines: new Store<Machine>(),
    secrets: new Store<V1Secret>(),
    kcps: new Store<KubeadmControlPlane>(),
    tkcs: new Store<TanzuKubernetesCluster>(),
  };
  const r = new GuestClusterReconciler(
    c,
    stores.clusters,
    stores.machines,
    stores.secrets,
    stores.kcps,
    stores.tkcs,
    rt,
    silentLogger,
  );
  const sync = async <T extends KubeObject>(s: Store<T>, rt: ResourceType<T>) => {
    for (const o of (await c.list(rt)).items) s.set(o);
  };
  return async () => {
    await sync(stores.clusters, ClusterResource);
    await sync(stores.machines, MachineResource);
    await sync(stores.secrets, Secrets);
    await sync(stores.kcps, KubeadmControlPlaneResource);
    await sync(stores.tkcs, TanzuKubernetesClusterResource);
    return r.reconcile({ namespace: NS, name: "c1" });
  };
}

const annotations = (c: FakeClient) =>
  c.peek(KubeadmControlPlaneResource, "c1-control-plane", NS)?.metadata.annotations;
const kcpPatches = (c: FakeClient) =>
  c.writes("KubeadmControlPlane").filter((a) => a.verb === "patch").length;

describe("guest-cluster reconciler", () => {
  it("records each probe on the KCP once, then applies the add-ons of the TKC", async () => {
    const c = seed();
    const rt = new FakeRuntime();
    const pass = driver(c, rt);
    expect(await pass()).toEqual({ requeueAfter: 500 });
    expect(annotations(c)).toEqual({ [GuestAnnotations.apiServerReady]: "False" });
    await pass();
    expect(kcpPatches(c)).toBe(1); // unchanged: not written again
    expect(rt.applied).toEqual([]); // nothing goes into a guest that does not answer

    rt.ready_ = true;
    expect(await pass()).toEqual({ requeueAfter: 10_000 });
    expect(annotations(c)).toEqual({
      [GuestAnnotations.apiServerReady]: "True",
      [GuestAnnotations.apiServerVersion]: "v1.37.2",
    });
    // The TKC's CNI (calico) and default class (gold).
    expect(rt.applied).toContain("/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node");
    expect(rt.applied).toContain("/apis/storage.k8s.io/v1/storageclasses/gold");
    expect(rt.applied).not.toContain("/apis/apps/v1/namespaces/kube-system/daemonsets/antrea-agent");
    const first = rt.applied.length;

    // Nothing missing: nothing applied. One deleted: that one alone.
    await pass();
    expect(rt.applied.length).toBe(first);
    rt.missing.add("/apis/apps/v1/namespaces/kube-system/deployments/coredns");
    await pass();
    expect(rt.applied.slice(first)).toEqual(["/apis/apps/v1/namespaces/kube-system/deployments/coredns"]);
    // The guest stops answering: recorded.
    rt.ready_ = false;
    await pass();
    expect(annotations(c)?.[GuestAnnotations.apiServerReady]).toBe("False");
  });

  it("completes a PKI set a killed manager left half made, keeping the parts it has", async () => {
    // A manager killed between the four creates leaves e.g. only <cluster>-ca: the next one makes
    // the other three (never a second CA) and starts the guest, instead of waiting forever.
    const c = seed();
    const rt = new FakeRuntime();
    const first = driver(c, rt);
    await first();
    const ca = c.peek(Secrets, "c1-ca", NS);
    for (const part of ["etcd", "proxy", "sa"]) await c.delete(Secrets, `c1-${part}`, NS);
    const before = c.writes("Secret").length;

    const pass = driver(c, rt); // a new manager: nothing remembered
    expect(await pass()).toEqual({ requeueAfter: 500 });
    const created = c
      .writes("Secret")
      .slice(before)
      .filter((a) => a.verb === "create")
      .map((a) => a.key)
      .sort();
    expect(created).toEqual(["dev/c1-etcd", "dev/c1-proxy", "dev/c1-sa"]);
    expect(c.peek(Secrets, "c1-ca", NS)?.data).toEqual(ca?.data);
  });

  it("gives the runtime the Cluster as owner, its Kubernetes version and storage class; loopback only for local", async () => {
    // A data-only, non-loopback VIP: the fake runtimes dial nothing.
    const pods = new FakeRuntime(false);
    expect(await driver(seed("192.168.128.5"), pods)()).toEqual({ requeueAfter: 500 });
    expect(pods.specs[0]).toMatchObject({
      vip: "192.168.128.5",
      owner: { kind: "Cluster", name: "c1", uid: "cluster-uid" },
      kubernetesVersion: "v1.33.1+vmware.1",
      storageClass: "gold",
    });
    const local = new FakeRuntime(true);
    await expect(driver(seed("192.168.128.5"), local)()).rejects.toThrow(/loopback/);
    expect(local.specs).toEqual([]);
  });

  it("takes a topology Cluster's storageClass variable when no TKC made it", async () => {
    const c = seed("192.168.128.5");
    await c.patch(ClusterResource, "c1", NS, {
      metadata: { ownerReferences: [] },
      spec: {
        topology: {
          class: "x",
          version: "v1.32.10+vmware.1",
          variables: [{ name: "storageClass", value: "silver" }],
        },
      },
    });
    const pods = new FakeRuntime(false);
    await driver(c, pods)();
    expect(pods.specs[0]).toMatchObject({ storageClass: "silver", kubernetesVersion: "v1.32.10+vmware.1" });
  });
});
