// Pacific against the REAL Cluster API and VM Operator CRDs: the chart is installed with
// crds.clusterAPI=false,crds.vmOperator=false (the path the README offers "where the real CRDs are
// installed"), Pacific's mirrored CRDs of those groups are removed, and upstream's (Cluster API
// v1.10, VM Operator v1.9 — hack/upstream-crds.mjs takes them from the Go module proxy; conversion
// strategy None, as no upstream webhook runs here) are installed in their place. Then the
// documentation's TKC runs, scales, upgrades and is deleted, a VM and a VirtualMachineService
// work, and no write of the manager is refused as invalid (422). Afterwards Pacific's CRDs are
// restored (upstream's deleted, the chart re-installed), so the later suites are unaffected.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterResource } from "../../controllers/api/cluster/cluster.ts";
import { type Machine, MachineResource } from "../../controllers/api/cluster/machine.ts";
import { MachineDeploymentResource } from "../../controllers/api/cluster/machinedeployment.ts";
import { KubeadmControlPlaneResource } from "../../controllers/api/controlplane/kubeadmcontrolplane.ts";
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
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { createBoundNamespace, createHosts, STORAGE } from "./fixtures/supervisor.ts";
import { tkcManifest } from "./fixtures/tkc.ts";
import { eventually, isNotFound, kubeConfig, root, uniqueName } from "./kube.ts";
import { expectNoForbidden, expectNoInvalid, startPacific } from "./pacific.ts";
import { installChart, kubectl } from "./tools.ts";

const client = new KubeClient(kubeConfig());
const suffix = uniqueName("u").slice(2);
const ns = `upc-${suffix}`;
const hosts = ["a", "b", "c", "d"].map((x) => `upc-${suffix}-esx-${x}`);
const CLUSTER_NAME = "cluster.x-k8s.io/cluster-name";
const V124 = "v1.24.11---vmware.1-fips.1-tkg.1";
const OFF = ["--set", "crds.clusterAPI=false", "--set", "crds.vmOperator=false"];
let mgr: Manager | undefined;

const upstream = (...args: string[]) =>
  execFileSync("node", [join(root, "hack", "upstream-crds.mjs"), ...args], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
const names = () => upstream("--names").trim().split("\n");

/** Deletes the CRDs (and so every object of them) and waits until they are gone. */
function deleteCrds(crds: string[]): void {
  kubectl(["delete", "crd", "--ignore-not-found", "--wait=true", "--timeout=120s", ...crds]);
}

const docTkc = (name: string): TanzuKubernetesCluster => tkcManifest({ name, namespace: ns });

const getTkc = (name: string) => client.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, name, ns);
const byCluster = (name: string) => ({ labelSelector: `${CLUSTER_NAME}=${name}` });
const machines = async (name: string) =>
  (await client.list<Machine>(MachineResource, { namespace: ns, ...byCluster(name) })).items;
const cond = (o: { status?: { conditions?: unknown } }, type: string) =>
  (o.status?.conditions as Array<{ type: string; status: string }> | undefined)?.find((c) => c.type === type);

async function running(name: string, workers: number, version?: string): Promise<TanzuKubernetesCluster> {
  return eventually(
    `TKC ${name} running with 3 + ${workers}${version ? ` at ${version}` : ""}`,
    async () => {
      const t = await getTkc(name);
      const ms = await machines(name);
      return (
        t.status?.phase === "running" &&
        cond(t, "Ready")?.status === "True" &&
        ms.length === 3 + workers &&
        ms.every((m) => m.status?.phase === "Running" && (!version || m.spec.version === version)) &&
        t
      );
    },
    120_000,
  );
}

beforeAll(async () => {
  // The chart without the mirrored groups (its CRDs are kept: helm.sh/resource-policy keep), then
  // Pacific's CRDs of those groups replaced by upstream's.
  installChart(...OFF);
  deleteCrds(names());
  kubectl(["apply", "--server-side", "--force-conflicts", "-f", "-"], upstream());
  kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", ...names()]);
  installChart(...OFF);
  for (const n of names())
    expect(
      JSON.parse(kubectl(["get", "crd", n, "-o", "json"])).metadata.labels?.["pacific.dev/upstream-crd"],
      n,
    ).toBe("true");

  mgr = await startPacific({ vipPool: "127.0.141.1-127.0.141.4" });
  await createHosts(client, hosts, `upc-${suffix}`);
  await createBoundNamespace(client, ns, ["best-effort-small", "best-effort-medium", "guaranteed-medium"]);
}, 300_000);

afterAll(async () => {
  try {
    await client.delete(TanzuKubernetesClusterResource, "tkc-u", ns).catch(() => undefined);
    await eventually(
      "TKC gone",
      () =>
        getTkc("tkc-u").then(
          () => false,
          (e: unknown) => isNotFound(e),
        ),
      60_000,
    ).catch(() => undefined);
    await client.delete(StorageClassBindingResource, `${ns}-vsan`).catch(() => undefined);
    await client.delete(SupervisorNamespaceResource, ns).catch(() => undefined);
    for (const h of hosts) await client.delete(ESXiHostResource, h).catch(() => undefined);
  } finally {
    await mgr?.stop();
    // Pacific's own CRDs again: upstream's deleted (with whatever is left in them), the chart re-installed.
    deleteCrds(names());
    installChart();
    kubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", ...names()]);
  }
}, 300_000);

describe("the documentation's TKC on the upstream CRDs", () => {
  it("reaches running with 3 + 3 machines, every VM powered on", async () => {
    await client.create(TanzuKubernetesClusterResource, docTkc("tkc-u"));
    await running("tkc-u", 3);
    const vmList = (
      await client.list<VirtualMachine>(VirtualMachineResource, { namespace: ns, ...byCluster("tkc-u") })
    ).items;
    expect(vmList).toHaveLength(6);
    for (const vm of vmList) expect(vm.status?.powerState).toBe("PoweredOn");
    // What a user types, against upstream's printer columns.
    const table = kubectl(["get", "cluster,kcp,md,machine,vm", "-n", ns]);
    expect(table).toContain("tkc-u-control-plane");
    expectNoInvalid(mgr!);
  });

  it("scales its node pool 3 → 4", async () => {
    await client.patch(
      TanzuKubernetesClusterResource,
      "tkc-u",
      ns,
      [{ op: "replace", path: "/spec/topology/nodePools/0/replicas", value: 4 }],
      { type: "json" },
    );
    expect((await running("tkc-u", 4)).status?.totalWorkerReplicas).toBe(4);
    expectNoInvalid(mgr!);
  });

  it("upgrades to the next minor", async () => {
    await client.patch(TanzuKubernetesClusterResource, "tkc-u", ns, {
      spec: { topology: { controlPlane: { tkr: { reference: { name: V124 } } } } },
    });
    const t = await running("tkc-u", 4, "v1.24.11+vmware.1");
    expect(t.status?.version).toBe("v1.24.11+vmware.1");
    expectNoInvalid(mgr!);
  });

  it("is deleted with everything below it", async () => {
    await client.delete(TanzuKubernetesClusterResource, "tkc-u", ns);
    await eventually(
      "TKC gone",
      () =>
        getTkc("tkc-u").then(
          () => false,
          (e: unknown) => isNotFound(e),
        ),
      90_000,
    );
    for (const rt of [
      ClusterResource,
      KubeadmControlPlaneResource,
      MachineDeploymentResource,
      MachineResource,
      VirtualMachineResource,
      VirtualMachineServiceResource,
    ])
      expect(
        (await client.list<KubeObject>(rt, { namespace: ns, ...byCluster("tkc-u") })).items,
        rt.kind,
      ).toEqual([]);
    expectNoInvalid(mgr!);
  });
});

describe("a VirtualMachine and a VirtualMachineService on the upstream CRDs", () => {
  it("powers the VM on and gives the service a VIP from the pool", async () => {
    await client.create(VirtualMachineResource, {
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachine",
      metadata: { name: "vm-u", namespace: ns, labels: { app: "vm-u" } },
      spec: { className: "best-effort-small", imageName: "ubuntu-22.04", storageClass: STORAGE },
    } as unknown as VirtualMachine); // power and restart modes take the CRD's defaults
    await client.create(VirtualMachineServiceResource, {
      apiVersion: "vmoperator.vmware.com/v1alpha3",
      kind: "VirtualMachineService",
      metadata: { name: "vm-u-lb", namespace: ns },
      spec: {
        type: "LoadBalancer",
        selector: { app: "vm-u" },
        ports: [{ name: "ssh", protocol: "TCP", port: 22, targetPort: 22 }],
      },
    } as VirtualMachineService);
    await eventually(
      "VM on",
      async () =>
        (await client.get<VirtualMachine>(VirtualMachineResource, "vm-u", ns)).status?.powerState ===
        "PoweredOn",
    );
    const svc = await eventually("VIP", async () => {
      const s = await client.get<VirtualMachineService>(VirtualMachineServiceResource, "vm-u-lb", ns);
      return s.status?.loadBalancer?.ingress?.[0]?.ip ? s : false;
    });
    expect(svc.status?.loadBalancer?.ingress?.[0]?.ip).toMatch(/^127\.0\.141\./);
    await client.delete(VirtualMachineServiceResource, "vm-u-lb", ns);
    await client.delete(VirtualMachineResource, "vm-u", ns);
    expectNoInvalid(mgr!);
  });
});

describe("the manager on the upstream CRDs", () => {
  it("had no write refused: no 422 (schema) and no RBAC 403 in the whole suite", async () => {
    expectNoInvalid(mgr!);
    await expectNoForbidden(mgr!);
  });
});
