// Cluster API topologies against the real control plane (issue 14): a Cluster naming the
// `tanzukubernetescluster` ClusterClass a Supervisor Namespace offers becomes a KubeadmControlPlane
// and one MachineDeployment per pool (owned by the Cluster, labelled as upstream's topology
// controller labels them), then Machines and VMs of the classes its variables and overrides name;
// it scales, upgrades (control plane first), rolls a pool whose vmClass changes, and leaves
// nothing behind when deleted. A Cluster naming the public `builtin-generic` class with
// classNamespace works the same; an unknown class is refused at admission, a class missing from the
// Cluster's namespace is reported on TopologyReconciled, each with its name.
import type { V1Secret } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { ClusterClassResource } from "../../controllers/api/cluster/clusterclass.ts";
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
  type VirtualMachine,
  VirtualMachineResource,
} from "../../controllers/api/vmoperator/virtualmachine.ts";
import {
  type VirtualMachineService,
  VirtualMachineServiceResource,
} from "../../controllers/api/vmoperator/virtualmachineservice.ts";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { Namespaces, Secrets } from "../../controllers/runtime/resource.ts";
import { asClusterTopology, type ClusterTopology } from "../../controllers/shared/topology/types.ts";
import { createBoundNamespace, createHosts, STORAGE } from "./fixtures/supervisor.ts";
import { eventually, isNotFound, kubeConfig, uniqueName } from "./kube.ts";
import { expectNoForbidden, expectNoInvalid, startPacific } from "./pacific.ts";
import { kubectl } from "./tools.ts";

const client = new KubeClient(kubeConfig());
const suffix = uniqueName("t").slice(2);
const ns = `topo-${suffix}`;
const hosts = ["a", "b", "c", "d"].map((x) => `topo-${suffix}-esx-${x}`);
const CLUSTER_NAME = "cluster.x-k8s.io/cluster-name";
const CONTROL_PLANE = "cluster.x-k8s.io/control-plane";
const DEPLOYMENT = "topology.cluster.x-k8s.io/deployment-name";
const V123 = "v1.23.8+vmware.3-tkg.1";
const V124 = "v1.24.11+vmware.1-fips.1-tkg.1";
const PUBLIC = "vmware-system-vks-public";
let mgr: Manager;

type Pool = { name: string; replicas: number; vmClass?: string };
const topologyCluster = (name: string, pools: Pool[], t: Partial<ClusterTopology> = {}): Cluster => ({
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "Cluster",
  metadata: { name, namespace: ns },
  spec: {
    clusterNetwork: {
      services: { cidrBlocks: ["10.96.0.0/12"] },
      pods: { cidrBlocks: ["192.168.0.0/16"] },
      serviceDomain: "cluster.local",
    },
    topology: asClusterTopology({
      class: "tanzukubernetescluster",
      version: V123,
      controlPlane: { replicas: 3 },
      workers: {
        machineDeployments: pools.map((p) => ({
          class: "node-pool",
          name: p.name,
          replicas: p.replicas,
          ...(p.vmClass ? { variables: { overrides: [{ name: "vmClass", value: p.vmClass }] } } : {}),
        })),
      },
      variables: [
        { name: "vmClass", value: "best-effort-small" },
        { name: "storageClass", value: STORAGE },
      ],
      ...t,
    }),
  },
});

const byCluster = (name: string) => ({ labelSelector: `${CLUSTER_NAME}=${name}` });
const machines = async (name: string) =>
  (await client.list<Machine>(MachineResource, { namespace: ns, ...byCluster(name) })).items;
const vms = async (name: string) =>
  (await client.list<VirtualMachine>(VirtualMachineResource, { namespace: ns, ...byCluster(name) })).items;
const getCluster = (name: string) => client.get<Cluster>(ClusterResource, name, ns);
const cond = (o: { status?: { conditions?: unknown } }, type: string) =>
  (
    o.status?.conditions as
      | Array<{ type: string; status: string; reason?: string; message?: string; severity?: string }>
      | undefined
  )?.find((c) => c.type === type);
const isCp = (m: Machine) => m.metadata.labels?.[CONTROL_PLANE] !== undefined;
const poolOf = (m: Machine) => m.metadata.labels?.[DEPLOYMENT];

/** The Cluster Ready, its topology reconciled, and `total` machines running (at `version`, if given). */
async function ready(name: string, total: number, version?: string): Promise<Cluster> {
  return eventually(
    `Cluster ${name} Ready with ${total} machines`,
    async () => {
      const c = await getCluster(name);
      const ms = await machines(name);
      const ok =
        cond(c, "Ready")?.status === "True" &&
        cond(c, "TopologyReconciled")?.status === "True" &&
        ms.length === total &&
        ms.every(
          (m) =>
            m.status?.phase === "Running" &&
            !m.metadata.deletionTimestamp &&
            (!version || m.spec.version === version),
        );
      return ok && c;
    },
    120_000,
  );
}

beforeAll(async () => {
  mgr = await startPacific({ vipPool: "127.0.143.1-127.0.143.8" });
  await createHosts(client, hosts, `topo-${suffix}`);
  await createBoundNamespace(client, ns, ["best-effort-small", "best-effort-medium", "best-effort-large"]);
  // The Supervisor publishes its ClusterClass into every Supervisor Namespace.
  await eventually("ClusterClass tanzukubernetescluster published in the namespace", () =>
    client.get(ClusterClassResource, "tanzukubernetescluster", ns).then(
      () => true,
      () => false,
    ),
  );
});

afterAll(async () => {
  await client.delete(StorageClassBindingResource, `${ns}-vsan`).catch(() => undefined);
  await client.delete(SupervisorNamespaceResource, ns).catch(() => undefined);
  for (const h of hosts) await client.delete(ESXiHostResource, h).catch(() => undefined);
  await mgr?.stop();
});

describe("a Cluster with the tanzukubernetescluster topology", () => {
  it("reaches Ready: 3 control-plane and 2 pools of VMs of the classes its variables and overrides name", async () => {
    await client.create(
      ClusterResource,
      topologyCluster("topo-1", [
        { name: "np-1", replicas: 2 },
        { name: "np-2", replicas: 1, vmClass: "best-effort-medium" },
      ]),
    );
    const cluster = await ready("topo-1", 6);
    const kcp = await client.get<KubeadmControlPlane>(
      KubeadmControlPlaneResource,
      "topo-1-control-plane",
      ns,
    );
    const owner = (o: KubeObject) => o.metadata?.ownerReferences?.find((r) => r.controller);
    expect(owner(kcp)).toMatchObject({ kind: "Cluster", uid: cluster.metadata.uid });
    expect(kcp.metadata.labels).toMatchObject({
      [CLUSTER_NAME]: "topo-1",
      "topology.cluster.x-k8s.io/owned": "",
    });
    expect(cluster.spec.controlPlaneRef).toMatchObject({
      kind: "KubeadmControlPlane",
      name: "topo-1-control-plane",
    });
    for (const pool of ["np-1", "np-2"]) {
      const md = await client.get<MachineDeployment>(MachineDeploymentResource, `topo-1-${pool}`, ns);
      expect(owner(md)).toMatchObject({ kind: "Cluster", uid: cluster.metadata.uid });
      expect(md.metadata.labels).toMatchObject({
        [CLUSTER_NAME]: "topo-1",
        "topology.cluster.x-k8s.io/owned": "",
        [DEPLOYMENT]: pool,
      });
    }
    // The right VMs of the right classes: the cluster's vmClass, np-2's override.
    const byName = new Map((await machines("topo-1")).map((m) => [m.metadata.name, m]));
    const list = await vms("topo-1");
    expect(list).toHaveLength(6);
    const classes = (pred: (m: Machine) => boolean) =>
      list.filter((v) => pred(byName.get(v.metadata.name) as Machine)).map((v) => v.spec.className);
    expect(classes(isCp)).toEqual(Array(3).fill("best-effort-small"));
    expect(classes((m) => poolOf(m) === "np-1")).toEqual(Array(2).fill("best-effort-small"));
    expect(classes((m) => poolOf(m) === "np-2")).toEqual(["best-effort-medium"]);
    for (const v of list) {
      expect(v.status?.powerState).toBe("PoweredOn");
      expect(v.spec.storageClass).toBe(STORAGE);
    }
    // The endpoint, as for a TKC's Cluster.
    const svc = await client.get<VirtualMachineService>(
      VirtualMachineServiceResource,
      "topo-1-control-plane-service",
      ns,
    );
    const vip = svc.status?.loadBalancer?.ingress?.[0]?.ip;
    expect(vip).toMatch(/^127\.0\.143\./);
    expect(cluster.spec.controlPlaneEndpoint).toEqual({ host: vip, port: 6443 });
    const secret = await client.get<V1Secret>(Secrets, "topo-1-kubeconfig", ns);
    expect(Buffer.from(secret.data?.value ?? "", "base64").toString()).toContain(
      `server: https://${vip}:6443`,
    );
    expect(cluster.status?.phase).toBe("Provisioned");
    for (const t of ["ControlPlaneInitialized", "ControlPlaneReady", "InfrastructureReady"])
      expect(cond(cluster, t)?.status, t).toBe("True");
    expect(kubectl(["get", "cluster,kcp,md", "-n", ns])).toContain("topo-1-np-2");
  });

  it("scales a pool 2 → 4 → 1", async () => {
    const scale = (replicas: number) =>
      client.patch(
        ClusterResource,
        "topo-1",
        ns,
        [{ op: "replace", path: "/spec/topology/workers/machineDeployments/0/replicas", value: replicas }],
        { type: "json" },
      );
    await scale(4);
    await ready("topo-1", 8);
    await scale(1);
    await ready("topo-1", 5);
    await eventually("VMs of removed machines deleted", async () => (await vms("topo-1")).length === 5);
  });

  it("rolls only the pool whose vmClass override changes", async () => {
    const before = await machines("topo-1");
    await client.patch(
      ClusterResource,
      "topo-1",
      ns,
      [
        {
          op: "replace",
          path: "/spec/topology/workers/machineDeployments/0/variables",
          value: { overrides: [{ name: "vmClass", value: "best-effort-large" }] },
        },
      ],
      { type: "json" },
    );
    await eventually(
      "np-1 rolled to best-effort-large",
      async () => {
        const list = await vms("topo-1");
        const ms = await machines("topo-1");
        const np1 = ms.filter((m) => poolOf(m) === "np-1");
        return (
          ms.length === 5 &&
          np1.length === 1 &&
          ms.every((m) => m.status?.phase === "Running") &&
          list.find((v) => v.metadata.name === np1[0]?.metadata.name)?.spec.className === "best-effort-large"
        );
      },
      120_000,
    );
    const after = new Set((await machines("topo-1")).map((m) => m.metadata.name));
    const kept = before.filter((m) => after.has(m.metadata.name));
    expect(kept.filter((m) => poolOf(m) === "np-1")).toEqual([]);
    expect(kept.filter((m) => isCp(m) || poolOf(m) === "np-2")).toHaveLength(4); // the others untouched
  });

  it("upgrades to the next minor: control plane first, then the pools, every machine replaced", async () => {
    const before = new Set((await machines("topo-1")).map((m) => m.metadata.name));
    await client.patch(ClusterResource, "topo-1", ns, { spec: { topology: { version: V124 } } });
    let minReadyCp = 3;
    await eventually(
      "upgraded",
      async () => {
        const kcp = await client.get<KubeadmControlPlane>(
          KubeadmControlPlaneResource,
          "topo-1-control-plane",
          ns,
        );
        minReadyCp = Math.min(minReadyCp, kcp.status?.readyReplicas ?? 0);
        const ms = await machines("topo-1");
        const c = await getCluster("topo-1");
        return (
          ms.length === 5 &&
          ms.every((m) => m.spec.version === "v1.24.11+vmware.1" && m.status?.phase === "Running") &&
          cond(c, "TopologyReconciled")?.status === "True"
        );
      },
      180_000,
      100,
    );
    const after = await machines("topo-1");
    expect(after.filter((m) => before.has(m.metadata.name))).toEqual([]);
    expect(minReadyCp).toBeGreaterThanOrEqual(3);
    const created = (m: Machine) => Date.parse(m.metadata.creationTimestamp as unknown as string);
    const cpNew = after.filter(isCp);
    const wNew = after.filter((m) => !isCp(m));
    expect(Math.max(...cpNew.map(created))).toBeLessThanOrEqual(Math.min(...wNew.map(created)));
  });

  it("reports a version that skips a minor on TopologyReconciled, naming the field, and changes nothing", async () => {
    const kcpVersion = async () =>
      (await client.get<KubeadmControlPlane>(KubeadmControlPlaneResource, "topo-1-control-plane", ns)).spec
        .version;
    const was = await kcpVersion();
    const refused = await client
      .patch(ClusterResource, "topo-1", ns, {
        spec: { topology: { version: "v1.26.5+vmware.2-fips.1-tkg.1" } },
      })
      .then(
        () => undefined,
        (e: unknown) => String(e),
      );
    if (refused === undefined) {
      const c = await eventually("skip reported", async () => {
        const x = await getCluster("topo-1");
        return cond(x, "TopologyReconciled")?.status === "False" && x;
      });
      expect(cond(c, "TopologyReconciled")?.message).toMatch(
        /spec.topology.version .*may not skip a minor version/,
      );
      expect(await kcpVersion()).toBe(was);
      await client.patch(ClusterResource, "topo-1", ns, { spec: { topology: { version: V124 } } });
    } else expect(refused).toMatch(/version/); // refused at admission (a policy of the class's)
  });

  it("deleting the Cluster removes everything below it", async () => {
    await client.delete(ClusterResource, "topo-1", ns);
    await eventually(
      "Cluster gone",
      () =>
        getCluster("topo-1").then(
          () => false,
          (e: unknown) => isNotFound(e),
        ),
      90_000,
    );
    // The garbage collector removes what the Cluster owned, and what that owned, down to the VMs.
    const left = async () => {
      const out: string[] = [];
      for (const rt of [
        KubeadmControlPlaneResource,
        MachineDeploymentResource,
        MachineResource,
        VirtualMachineResource,
        VirtualMachineServiceResource,
        Secrets,
      ])
        for (const o of (await client.list<KubeObject>(rt, { namespace: ns, ...byCluster("topo-1") })).items)
          out.push(`${rt.kind}/${o.metadata?.name}`);
      return out;
    };
    await eventually("nothing of topo-1 left", async () => (await left()).length === 0, 90_000);
    expect(await left()).toEqual([]);
  });
});

describe("a Cluster naming the public builtin-generic class", () => {
  it("works the same with classNamespace vmware-system-vks-public", async () => {
    const classes = (await client.list<KubeObject>(ClusterClassResource, { namespace: PUBLIC })).items
      .map((c) => c.metadata?.name ?? "")
      .filter((n) => n.startsWith("builtin-generic-"));
    expect(classes.length).toBeGreaterThan(0);
    const klass = classes.sort().at(-1) as string;
    await client.create(
      ClusterResource,
      topologyCluster("topo-gen", [{ name: "np-1", replicas: 2, vmClass: "best-effort-medium" }], {
        class: klass,
        classNamespace: PUBLIC,
        controlPlane: { replicas: 1 },
      }),
    );
    await ready("topo-gen", 3);
    const byName = new Map((await machines("topo-gen")).map((m) => [m.metadata.name, m]));
    const list = await vms("topo-gen");
    expect(
      list
        .map((v) => `${isCp(byName.get(v.metadata.name) as Machine) ? "cp" : "w"}:${v.spec.className}`)
        .sort(),
    ).toEqual(["cp:best-effort-small", "w:best-effort-medium", "w:best-effort-medium"]);
    await client.delete(ClusterResource, "topo-gen", ns);
    await eventually(
      "builtin-generic cluster's VMs gone",
      async () => (await vms("topo-gen")).length === 0,
      90_000,
    );
  });
});

describe("a class that is not there", () => {
  it("an unknown class is refused at admission, the field and the class named", async () => {
    const refused = await client
      .create(
        ClusterResource,
        topologyCluster("topo-unknown", [{ name: "np-1", replicas: 1 }], { class: "no-such-class" }),
      )
      .then(
        () => "accepted",
        (e: unknown) => String(e),
      );
    expect(refused).toMatch(/spec\.topology\.class: unknown ClusterClass no-such-class/);
  });

  it("a class missing from the Cluster's namespace: TopologyReconciled False naming it, an event, nothing made", async () => {
    // A namespace that is no Supervisor Namespace: the class is not published in it.
    const bare = `topo-bare-${suffix}`;
    await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: bare } });
    try {
      const c0 = topologyCluster("topo-noclass", [{ name: "np-1", replicas: 1 }]);
      await client.create(ClusterResource, { ...c0, metadata: { name: "topo-noclass", namespace: bare } });
      const c = await eventually("class reported", async () => {
        const x = await client.get<Cluster>(ClusterResource, "topo-noclass", bare);
        return cond(x, "TopologyReconciled")?.status === "False" && x;
      });
      expect(cond(c, "TopologyReconciled")).toMatchObject({
        reason: "ClusterClassNotFound",
        severity: "Error",
      });
      expect(cond(c, "TopologyReconciled")?.message).toContain(`${bare}/tanzukubernetescluster`);
      const events = await eventually("event recorded", async () => {
        const out = kubectl([
          "get",
          "events",
          "-n",
          bare,
          "--field-selector",
          "involvedObject.name=topo-noclass",
          "-o",
          "jsonpath={.items[*].reason}",
        ]);
        return out.includes("ClusterClassNotFound") && out;
      });
      expect(events).toContain("ClusterClassNotFound");
      expect(
        (
          await client.list<KubeObject>(KubeadmControlPlaneResource, {
            namespace: bare,
            ...byCluster("topo-noclass"),
          })
        ).items,
      ).toEqual([]);
      await client.delete(ClusterResource, "topo-noclass", bare);
    } finally {
      await client.delete(Namespaces, bare).catch(() => undefined);
    }
  });
});

describe("the manager as the chart's ServiceAccount", () => {
  it("was never refused by the API server (RBAC covers every request, no write was invalid)", async () => {
    await expectNoForbidden(mgr);
    expectNoInvalid(mgr);
  });
});
