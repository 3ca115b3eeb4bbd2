// Tanzu Kubernetes Clusters, Cluster API and the VM Service against the real control plane: the
// documentation's TKC manifest becomes the whole Cluster API graph on simulated VMs placed on ESXi
// hosts; it scales, upgrades (control plane first, one surge machine at a time), refuses a
// downgrade, reports a missing class and an exhausted quota, survives maintenance mode and a host
// failure, and leaves nothing behind when deleted. The load balancer's VIP pool is exercised too.
import type { V1Secret, V1Service } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../../controllers/api/cluster/machine.ts";
import {
  type MachineDeployment,
  MachineDeploymentResource,
} from "../../controllers/api/cluster/machinedeployment.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../../controllers/api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../controllers/api/run/tanzukubernetescluster.ts";
import {
  type VirtualMachine,
  VirtualMachineResource,
} from "../../controllers/api/vmoperator/virtualmachine.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../controllers/api/vmoperator/virtualmachineservice.ts";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { Secrets, Services } from "../../controllers/runtime/resource.ts";
import { createBoundNamespace, createHosts, STORAGE } from "./fixtures/supervisor.ts";
import { tkcManifest } from "./fixtures/tkc.ts";
import { eventually, isNotFound, kubeConfig, uniqueName } from "./kube.ts";
import { expectNoForbidden, startPacific } from "./pacific.ts";
import { kubectl } from "./tools.ts";

const client = new KubeClient(kubeConfig());
const suffix = uniqueName("t").slice(2);
const ns = `tkc-${suffix}`;
const quotaNs = `tkcq-${suffix}`;
const hosts = ["a", "b", "c", "d"].map((x) => `tkc-${suffix}-esx-${x}`);
const CLUSTER_NAME = "cluster.x-k8s.io/cluster-name";
const V123 = "v1.23.8---vmware.3-tkg.1";
const V124 = "v1.24.11---vmware.1-fips.1-tkg.1";
let mgr: Manager;

/** The manifest of the TKG documentation (docs/upstream-apis.md), in our namespace. */
const docTkc = (name: string, namespace = ns, vmClass = "best-effort-medium"): TanzuKubernetesCluster =>
  tkcManifest({ name, namespace, vmClass });

const getTkc = (name: string, namespace = ns) =>
  client.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, name, namespace);
const byCluster = (name: string) => ({ labelSelector: `${CLUSTER_NAME}=${name}` });
const machines = async (name: string) =>
  (await client.list<Machine>(MachineResource, { namespace: ns, ...byCluster(name) })).items;
const vms = async (name: string, namespace = ns) =>
  (await client.list<VirtualMachine>(VirtualMachineResource, { namespace, ...byCluster(name) })).items;
const cond = (o: { status?: { conditions?: unknown } }, type: string) =>
  (
    o.status?.conditions as
      | Array<{ type: string; status: string; reason?: string; message?: string }>
      | undefined
  )?.find((c) => c.type === type);

async function running(name: string, workers: number, version?: string): Promise<TanzuKubernetesCluster> {
  return eventually(
    `TKC ${name} running with 3 + ${workers}`,
    async () => {
      const t = await getTkc(name);
      const ms = await machines(name);
      const ok =
        t.status?.phase === "running" &&
        cond(t, "Ready")?.status === "True" &&
        ms.length === 3 + workers &&
        ms.every((m) => m.status?.phase === "Running" && (!version || m.spec.version === version));
      return ok && t;
    },
    90_000,
  );
}

const VM_CLASSES = ["best-effort-small", "best-effort-medium", "guaranteed-medium"];

beforeAll(async () => {
  mgr = await startPacific({ vipPool: "127.0.140.1-127.0.140.4" });
  await createHosts(client, hosts, `tkc-${suffix}`);
  await createBoundNamespace(client, ns, VM_CLASSES);
  await createBoundNamespace(client, quotaNs, VM_CLASSES, { limits: { cpu: "8", memory: "64Gi" } });
});

afterAll(async () => {
  for (const n of [ns, quotaNs]) {
    await client.delete(StorageClassBindingResource, `${n}-vsan`).catch(() => undefined);
    await client.delete(SupervisorNamespaceResource, n).catch(() => undefined);
  }
  for (const h of hosts) await client.delete(ESXiHostResource, h).catch(() => undefined);
  await mgr?.stop();
});

describe("a TanzuKubernetesCluster from the documentation", () => {
  it("reaches running with 3 control-plane and 3 worker VMs, the whole graph owned and labelled", async () => {
    await client.create(TanzuKubernetesClusterResource, docTkc("tkc-1"));
    const tkc = await running("tkc-1", 3);
    const cluster = await client.get<Cluster>(ClusterResource, "tkc-1", ns);
    const kcp = await client.get<KubeadmControlPlane>(KubeadmControlPlaneResource, "tkc-1-control-plane", ns);
    const md = await client.get<MachineDeployment>(MachineDeploymentResource, "tkc-1-pool-1", ns);
    const owner = (o: KubeObject) => o.metadata?.ownerReferences?.find((r) => r.controller);
    expect(owner(cluster)).toMatchObject({
      kind: "TanzuKubernetesCluster",
      name: "tkc-1",
      uid: tkc.metadata.uid,
    });
    expect(owner(kcp)).toMatchObject({ kind: "Cluster", uid: cluster.metadata.uid });
    expect(owner(md)).toMatchObject({ kind: "Cluster", uid: cluster.metadata.uid });
    const ms = await machines("tkc-1");
    const cp = ms.filter((m) => m.metadata.labels?.["cluster.x-k8s.io/control-plane"] !== undefined);
    expect(cp).toHaveLength(3);
    for (const m of cp)
      expect(owner(m)).toMatchObject({ kind: "KubeadmControlPlane", uid: kcp.metadata.uid });
    const workers = ms.filter(
      (m) => m.metadata.labels?.["cluster.x-k8s.io/deployment-name"] === "tkc-1-pool-1",
    );
    expect(workers).toHaveLength(3);
    for (const m of workers)
      expect(owner(m)).toMatchObject({ kind: "MachineDeployment", uid: md.metadata.uid });
    const machines6 = new Map(ms.map((m) => [m.metadata.name, m]));
    const vmList = await vms("tkc-1");
    expect(vmList).toHaveLength(6);
    for (const vm of vmList) {
      const m = machines6.get(vm.metadata.name)!;
      expect(owner(vm)).toMatchObject({ kind: "Machine", uid: m.metadata.uid });
      expect(vm.metadata.labels?.["capv.vmware.com/cluster.name"]).toBe("tkc-1");
      expect(vm.metadata.labels?.["capv.vmware.com/cluster.role"]).toBe(
        cp.includes(m) ? "controlplane" : "node",
      );
      expect(vm.status?.powerState).toBe("PoweredOn");
      await client.get<ESXiHost>(ESXiHostResource, vm.status!.host!); // placed on a real ESXi host
      expect(m.spec.providerID).toBe(`vsphere://${vm.status?.biosUUID}`);
      expect(m.status?.addresses?.[0]?.address).toBe(vm.status?.network?.primaryIP4);
    }
    // The control-plane VIP is the cluster's endpoint; the kubeconfig points at it.
    const svc = await client.get<VirtualMachineService>(
      VirtualMachineServiceResource,
      "tkc-1-control-plane-service",
      ns,
    );
    const vip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    expect(vip).toMatch(/^127\.0\.140\./);
    expect(tkc.status?.apiEndpoints).toEqual([{ host: vip, port: 6443 }]);
    expect((await client.get<Cluster>(ClusterResource, "tkc-1", ns)).spec.controlPlaneEndpoint).toEqual({
      host: vip,
      port: 6443,
    });
    const secret = await client.get<V1Secret>(Secrets, "tkc-1-kubeconfig", ns);
    expect(secret.type).toBe("cluster.x-k8s.io/secret");
    const kubeconfig = Buffer.from(secret.data!.value!, "base64").toString();
    expect(kubeconfig).toContain(`server: https://${vip}:6443`);
    // Runtime none: nothing answers there, and the kubeconfig and the TKC say nothing false.
    expect(kubeconfig).not.toContain("insecure-skip-tls-verify");
    expect(kubeconfig).not.toContain("token");
    expect(tkc.status?.guestControlPlane).toEqual({ runtime: "none" });
    expect(cond(tkc, "GuestControlPlaneReady")).toMatchObject({
      status: "False",
      severity: "Info",
      reason: "NoGuestControlPlane",
    });
    expect(tkc.status?.totalWorkerReplicas).toBe(3);
    expect(Object.values(tkc.status?.nodeStatus ?? {})).toEqual(Array(6).fill("ready"));
    expect(cond(tkc, "UpdatesAvailable")?.message).toContain(V124);
    // What a user types.
    const table = kubectl(["get", "tkc,cluster,kcp,md,machine,vm", "-n", ns]);
    expect(table).toContain("tkc-1-control-plane");
    expect(table.match(/PoweredOn/g)).toHaveLength(6);
  });

  it("scales a node pool 3 → 5 → 2", async () => {
    const patchPool = (replicas: number) =>
      client.patch(
        TanzuKubernetesClusterResource,
        "tkc-1",
        ns,
        [{ op: "replace", path: "/spec/topology/nodePools/0/replicas", value: replicas }],
        {
          type: "json",
        },
      );
    await patchPool(5);
    let t = await running("tkc-1", 5);
    expect(t.status?.totalWorkerReplicas).toBe(5);
    await patchPool(2);
    t = await running("tkc-1", 2);
    expect(t.status?.totalWorkerReplicas).toBe(2);
    await eventually("VMs of removed machines deleted", async () => (await vms("tkc-1")).length === 5);
  });

  it("upgrades to the next minor: every machine replaced, control plane first, never below its size", async () => {
    const before = new Set((await machines("tkc-1")).map((m) => m.metadata.name));
    await client.patch(TanzuKubernetesClusterResource, "tkc-1", ns, {
      spec: { topology: { controlPlane: { tkr: { reference: { name: V124 } } } } },
    });
    // Sample while it rolls: the control plane keeps 3 running members, the TKC never fails.
    let minReadyCp = 3;
    const phases = new Set<string>();
    const t = await eventually(
      "upgraded",
      async () => {
        const kcp = await client.get<KubeadmControlPlane>(
          KubeadmControlPlaneResource,
          "tkc-1-control-plane",
          ns,
        );
        minReadyCp = Math.min(minReadyCp, kcp.status?.readyReplicas ?? 0);
        const tk = await getTkc("tkc-1");
        phases.add(tk.status?.phase ?? "");
        const ms = await machines("tkc-1");
        return (
          tk.status?.phase === "running" &&
          ms.length === 5 &&
          ms.every((m) => m.spec.version === "v1.24.11+vmware.1" && m.status?.phase === "Running") &&
          tk
        );
      },
      120_000,
      100,
    );
    const after = await machines("tkc-1");
    expect(after.filter((m) => before.has(m.metadata.name))).toEqual([]); // every machine replaced
    expect(minReadyCp).toBeGreaterThanOrEqual(3);
    expect([...phases].every((p) => p === "running" || p === "updating")).toBe(true);
    expect(t.status?.version).toBe("v1.24.11+vmware.1");
    // Control plane first: every new control-plane machine was made no later than the first new worker.
    const created = (m: Machine) => Date.parse(m.metadata.creationTimestamp as unknown as string);
    const cpNew = after.filter((m) => m.metadata.labels?.["cluster.x-k8s.io/control-plane"] !== undefined);
    const wNew = after.filter((m) => m.metadata.labels?.["cluster.x-k8s.io/control-plane"] === undefined);
    expect(Math.max(...cpNew.map(created))).toBeLessThanOrEqual(Math.min(...wNew.map(created)));
  });

  it("refuses a downgrade and a skipped minor at the API server, with a clear message", async () => {
    const to = (name: string) =>
      client
        .patch(TanzuKubernetesClusterResource, "tkc-1", ns, {
          spec: { topology: { controlPlane: { tkr: { reference: { name } } } } },
        })
        .then(
          () => "accepted",
          (e: unknown) => apiStatus(e).message,
        );
    expect(await to(V123)).toMatch(
      /cannot be downgraded \(from v1\.24\.11---vmware\.1-fips\.1-tkg\.1 to v1\.23\.8---vmware\.3-tkg\.1\)/,
    );
    expect(await to("v1.26.5---vmware.2-fips.1-tkg.1")).toMatch(/may not skip a minor version/);
    expect((await getTkc("tkc-1")).spec.topology.controlPlane.tkr?.reference?.name).toBe(V124);
  });

  it("moves VMs off a host entering maintenance mode (vMotion), keeping them powered on", async () => {
    const list = await vms("tkc-1");
    const host = list[0]!.status!.host!;
    const on = list.filter((v) => v.status?.host === host).map((v) => v.metadata.name);
    await client.patch(ESXiHostResource, host, undefined, { spec: { maintenanceMode: true } });
    try {
      await eventually(
        `host ${host} in maintenance with no VMs`,
        async () => {
          const h = await client.get<ESXiHost>(ESXiHostResource, host);
          return h.status?.vmCount === 0 && h.status?.inMaintenanceMode === true && h;
        },
        60_000,
      );
      const moved = (await vms("tkc-1")).filter((v) => on.includes(v.metadata.name));
      for (const v of moved) {
        expect(v.status?.host).not.toBe(host);
        expect(v.status?.powerState).toBe("PoweredOn");
      }
      expect((await getTkc("tkc-1")).status?.phase).toBe("running");
    } finally {
      await client.patch(ESXiHostResource, host, undefined, { spec: { maintenanceMode: false } });
    }
  });

  it("restarts a failed host's VMs on other hosts (vSphere HA)", async () => {
    const list = await vms("tkc-1");
    const host = list[0]!.status!.host!;
    const on = list.filter((v) => v.status?.host === host).map((v) => v.metadata.name);
    await client.patch(ESXiHostResource, host, undefined, { spec: { simulation: { heartbeats: false } } });
    try {
      // The node controller's 50 s grace period, then the restart.
      await eventually(
        "VMs restarted elsewhere",
        async () => {
          const now = (await vms("tkc-1")).filter((v) => on.includes(v.metadata.name));
          return now.every((v) => v.status?.host !== host && v.status?.powerState === "PoweredOn") && now;
        },
        120_000,
        1000,
      );
      await running("tkc-1", 2);
    } finally {
      await client.patch(ESXiHostResource, host, undefined, { spec: { simulation: { heartbeats: true } } });
    }
  }, 180_000);

  it("deleting the TKC leaves no orphan", async () => {
    await client.delete(TanzuKubernetesClusterResource, "tkc-1", ns);
    await eventually(
      "TKC gone",
      () =>
        getTkc("tkc-1").then(
          () => false,
          (e: unknown) => isNotFound(e),
        ),
      60_000,
    );
    for (const rt of [
      ClusterResource,
      KubeadmControlPlaneResource,
      MachineDeploymentResource,
      MachineResource,
      VirtualMachineResource,
      VirtualMachineServiceResource,
      Secrets,
    ])
      expect(
        (await client.list<KubeObject>(rt, { namespace: ns, ...byCluster("tkc-1") })).items,
        rt.kind,
      ).toEqual([]);
  });
});

describe("a VirtualMachine on its own", () => {
  const vmObj = (name: string, spec: Partial<VirtualMachine["spec"]>): VirtualMachine =>
    ({
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachine",
      metadata: { name, namespace: ns },
      spec: { className: "guaranteed-medium", imageName: "ubuntu-22.04", storageClass: STORAGE, ...spec },
    }) as VirtualMachine;
  const getVm = (name: string) => client.get<VirtualMachine>(VirtualMachineResource, name, ns);

  it("does not start with a storage class the namespace is not bound to, and says why", async () => {
    await client.create(VirtualMachineResource, vmObj("vm-nostorage", { storageClass: "gold-unbound" }));
    const v = await eventually("storage reported", async () => {
      const x = await getVm("vm-nostorage");
      return cond(x, "VirtualMachineStorageReady")?.status === "False" && x;
    });
    expect(cond(v, "VirtualMachineStorageReady")?.message).toContain("gold-unbound");
    expect(v.status?.host).toBeUndefined();
    await client.delete(VirtualMachineResource, "vm-nostorage", ns);
  });

  it("reserves its class on the host (the Node's allocatable drops), resizes, powers off and on, restarts", async () => {
    await client.create(VirtualMachineResource, vmObj("vm-1", {}));
    let v = await eventually("VM on", async () => {
      const x = await getVm("vm-1");
      return x.status?.powerState === "PoweredOn" && x;
    });
    const host = v.status!.host!;
    const allocatable = async () =>
      Number(JSON.parse(kubectl(["get", "node", host, "-o", "json"])).status.allocatable.cpu as string);
    await eventually(
      "Node allocatable lowered by the 2-vCPU reservation",
      async () => (await allocatable()) <= 14,
    );
    // Resize to a class with no reservation: applied (the host has room), the reservation released.
    await client.patch(VirtualMachineResource, "vm-1", ns, { spec: { className: "best-effort-small" } });
    v = await eventually("resized", async () => {
      const x = await getVm("vm-1");
      return x.status?.class?.name === "best-effort-small" && x;
    });
    await eventually("reservation released", async () => (await allocatable()) === 16);
    for (const state of ["PoweredOff", "Suspended", "PoweredOn"] as const) {
      await client.patch(VirtualMachineResource, "vm-1", ns, { spec: { powerState: state } });
      await eventually(`power ${state}`, async () => (await getVm("vm-1")).status?.powerState === state);
    }
    await client.patch(VirtualMachineResource, "vm-1", ns, { spec: { nextRestartTime: "now" } });
    v = await eventually("restarted", async () => {
      const x = await getVm("vm-1");
      return (
        !!x.status?.lastRestartTime &&
        x.status.lastRestartTime === x.spec.nextRestartTime &&
        x.status.powerState === "PoweredOn" &&
        x
      );
    });
    expect(v.spec.nextRestartTime).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    await client.delete(VirtualMachineResource, "vm-1", ns);
  });
});

describe("what only the cluster's state can judge", () => {
  it("reports a VM class the namespace does not have, and makes nothing", async () => {
    await client.create(TanzuKubernetesClusterResource, docTkc("tkc-noclass", ns, "guaranteed-8xlarge"));
    const t = await eventually("TKC failed", async () => {
      const x = await getTkc("tkc-noclass");
      return x.status?.phase === "failed" && x;
    });
    expect(cond(t, "Ready")).toMatchObject({ status: "False", reason: "VMClassNotFound" });
    expect(cond(t, "Ready")?.message).toContain("guaranteed-8xlarge");
    expect(
      await client.get(ClusterResource, "tkc-noclass", ns).then(
        () => "exists",
        () => "absent",
      ),
    ).toBe("absent");
    await client.delete(TanzuKubernetesClusterResource, "tkc-noclass", ns);
  });

  it("reports quota exhaustion and places nothing beyond the namespace's limit", async () => {
    // 8 CPUs of limit; guaranteed-medium reserves 2 each: at most 4 of the 6 VMs may be placed.
    await client.create(TanzuKubernetesClusterResource, docTkc("tkc-quota", quotaNs, "guaranteed-medium"));
    const t = await eventually(
      "TKC reports the quota",
      async () => {
        const x = await getTkc("tkc-quota", quotaNs);
        const ready = cond(x, "Ready");
        return ready?.status === "False" && ready.reason === "QuotaExceeded" && x;
      },
      60_000,
    );
    expect(cond(t, "Ready")?.message).toMatch(/exceeds namespace .* cpu \(limit 8\)/);
    const list = await vms("tkc-quota", quotaNs);
    const placed = list.filter((v) => v.status?.host);
    expect(placed.length).toBeLessThanOrEqual(4);
    expect(list.some((v) => cond(v, "VirtualMachineCreated")?.reason === "QuotaExceeded")).toBe(true);
    await client.delete(TanzuKubernetesClusterResource, "tkc-quota", quotaNs);
    await eventually(
      "quota TKC gone",
      () =>
        getTkc("tkc-quota", quotaNs).then(
          () => false,
          (e: unknown) => isNotFound(e),
        ),
      60_000,
    );
  });
});

describe("the load balancer's VIP pool", () => {
  it("serves Services of type LoadBalancer, reports an exhausted pool, and reuses a released VIP", async () => {
    const svc = (name: string): V1Service => ({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: ns },
      spec: { type: "LoadBalancer", ports: [{ port: 80 }], selector: { app: name } },
    });
    // The pool has 4 addresses.
    const names = ["lb-0", "lb-1", "lb-2", "lb-3", "lb-4"];
    for (const n of names) await client.create(Services, svc(n));
    const vipOf = async (n: string) =>
      (await client.get<V1Service>(Services, n, ns)).status?.loadBalancer?.ingress?.[0]?.ip;
    await eventually(
      "4 VIPs handed out",
      async () => (await Promise.all(names.map(vipOf))).filter(Boolean).length === 4,
    );
    const vips = await Promise.all(names.map(vipOf));
    expect(new Set(vips.filter(Boolean)).size).toBe(4);
    const starved = names[vips.indexOf(undefined)]!;
    const events = await eventually("exhaustion reported", async () => {
      const out = kubectl([
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        `involvedObject.name=${starved}`,
        "-o",
        "jsonpath={.items[*].reason}",
      ]);
      return out.includes("VIPPoolExhausted") && out;
    });
    expect(events).toContain("VIPPoolExhausted");
    const released = names[vips.indexOf("127.0.140.2")]!;
    await client.delete(Services, released, ns);
    await eventually("the released VIP reused", async () => (await vipOf(starved)) === "127.0.140.2", 60_000);
    for (const n of names) await client.delete(Services, n, ns).catch(() => undefined);
  });
});

describe("the manager as the chart's ServiceAccount", () => {
  it("was never refused by the API server (the chart's RBAC covers every request)", async () => {
    await expectNoForbidden(mgr);
  });
});
