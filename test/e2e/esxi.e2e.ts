// ESXi hosts as Nodes (the Spherelet) and the vSphere Pod Service, against the real control plane:
// the kube-scheduler, the node lifecycle controller, the eviction API and PodDisruptionBudgets are
// the real ones. The suite's hosts sit in a zone of their own so that nothing else lands on them.
import type { V1Lease, V1Node, V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { type VSpherePod, VSpherePodResource } from "../../controllers/api/vsphere/vspherepod.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { Leases, Namespaces, Nodes, Pods } from "../../controllers/runtime/resource.ts";
import { cpuMilli } from "../../controllers/shared/quantity.ts";
import { eventually, isNotFound, kubeConfig, uniqueName } from "./kube.ts";
import { expectNoForbidden, startPacific } from "./pacific.ts";

const client = new KubeClient(kubeConfig());
const zone = uniqueName("z");
const ns = uniqueName("e2e-esxi");
const hosts = ["a", "b", "c"].map((x) => `${zone}-esx-${x}`);
const apps = { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true };
const pdbs = {
  group: "policy",
  version: "v1",
  plural: "poddisruptionbudgets",
  kind: "PodDisruptionBudget",
  namespaced: true,
};
let mgr: Manager;

const hostObj = (name: string): ESXiHost => ({
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "ESXiHost",
  metadata: { name },
  spec: {
    clusterName: "cluster-e2e",
    zone,
    capacity: { cpu: 8, memory: "32Gi", pods: 110 },
    maintenanceMode: false,
  },
});

const vpodObj = (name: string, cpu = "100m", memory = "128Mi"): VSpherePod => ({
  apiVersion: "vsphere.pacific.dev/v1alpha1",
  kind: "VSpherePod",
  metadata: { name, namespace: ns },
  spec: {
    zone,
    template: {
      metadata: { labels: { app: "vpod" } },
      spec: { containers: [{ name: "app", image: "nginx:1.27", resources: { requests: { cpu, memory } } }] },
    },
  },
});

const getHost = (name: string) => client.get<ESXiHost>(ESXiHostResource, name);
const listPods = async () => (await client.list<V1Pod>(Pods, { namespace: ns })).items;
const listVpods = async () => (await client.list<VSpherePod>(VSpherePodResource, { namespace: ns })).items;
const nodeReadyStatus = (n: V1Node) => n.status?.conditions?.find((c) => c.type === "Ready")?.status;

beforeAll(async () => {
  mgr = await startPacific();
  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
});

afterAll(async () => {
  await client.delete(Namespaces, ns).catch(() => undefined);
  for (const h of hosts) await client.delete(ESXiHostResource, h).catch(() => undefined);
  await mgr?.stop();
});

describe("ESXi hosts and vSphere Pods", () => {
  it("turns 3 ESXiHosts into 3 Ready nodes with the right capacity, labels, taint and Lease", async () => {
    for (const h of hosts) await client.create(ESXiHostResource, hostObj(h));
    for (const h of hosts) {
      const node = await eventually(`node ${h} Ready`, async () => {
        const n = await client.get<V1Node>(Nodes, h);
        return nodeReadyStatus(n) === "True" && n;
      });
      expect(node.status?.capacity).toMatchObject({ cpu: "8", memory: "32Gi", pods: "110" });
      expect(node.status?.allocatable).toMatchObject({ cpu: "8", memory: "32Gi", pods: "110" });
      expect(node.metadata?.labels).toMatchObject({
        "topology.kubernetes.io/zone": zone,
        type: "virtual-kubelet",
        "kubernetes.io/role": "agent",
      });
      expect(node.spec?.taints).toContainEqual({
        key: "virtual-kubelet.io/provider",
        value: "vsphere",
        effect: "NoSchedule",
      });
      expect(node.status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("KubeletReady");
      expect(node.status?.nodeInfo?.osImage).toContain("ESXi");
      const lease = await eventually(`lease ${h}`, () => client.get<V1Lease>(Leases, h, "kube-node-lease"));
      expect(lease.spec?.leaseDurationSeconds).toBe(40);
      expect(String(lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
      const host = await eventually(`host ${h} connected`, async () => {
        const x = await getHost(h);
        return x.status?.connectionState === "connected" && x;
      });
      expect(host.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
      expect(host.status?.free).toEqual({ cpu: "8", memory: "32Gi" });
    }
  });

  it("places 30 VSpherePods evenly (max − min ≤ 1 per host) and runs them", async () => {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => client.create(VSpherePodResource, vpodObj(`vp-${i}`))),
    );
    const vpods = await eventually(
      "30 VSpherePods Running",
      async () => {
        const list = await listVpods();
        return list.length === 30 && list.every((v) => v.status?.phase === "Running") && list;
      },
      60_000,
    );
    const counts = hosts.map((h) => vpods.filter((v) => v.status?.hostName === h).length);
    expect(counts.reduce((a, b) => a + b)).toBe(30);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    for (const v of vpods) {
      expect(v.status?.podIP).toMatch(/^10\.\d+\.\d+\.\d+$/);
      expect(v.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    }
    const host = await eventually("host status counts pods", async () => {
      const h = await getHost(hosts[0]!);
      return h.status?.podCount === counts[0] && h;
    });
    expect(cpuMilli(host.status?.allocated?.cpu)).toBe(counts[0]! * 100);
  });

  it("runs a Deployment with the toleration on ESXi nodes through the kube-scheduler", async () => {
    await client.create(apps, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            nodeSelector: { "topology.kubernetes.io/zone": zone },
            tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
            containers: [{ name: "web", image: "nginx", resources: { requests: { cpu: "100m" } } }],
          },
        },
      },
    });
    const pods = await eventually("3 Deployment pods Running", async () => {
      const p = (await listPods()).filter(
        (x) => x.metadata?.labels?.app === "web" && x.status?.phase === "Running",
      );
      return p.length === 3 && p;
    });
    for (const p of pods) expect(hosts).toContain(p.spec?.nodeName);
  });

  it("refuses what fits no host: Placed=False InsufficientCapacity, and OutOfcpu for a pod bound by hand", async () => {
    await client.create(VSpherePodResource, vpodObj("too-big", "64", "1Gi"));
    const v = await eventually("too-big reported unplaced", async () => {
      const x = await client.get<VSpherePod>(VSpherePodResource, "too-big", ns);
      return x.status?.conditions?.find((c) => c.type === "Placed" && c.status === "False") && x;
    });
    const placed = v.status!.conditions!.find((c) => c.type === "Placed")!;
    expect(placed.reason).toBe("InsufficientCapacity");
    expect(placed.message).toContain("insufficient cpu");
    await client.delete(VSpherePodResource, "too-big", ns);

    await client.create(Pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "bound-too-big", namespace: ns },
      spec: {
        nodeName: hosts[0],
        containers: [{ name: "c", image: "busybox", resources: { requests: { cpu: "9" } } }],
      },
    });
    const p = await eventually("kubelet-style admission rejects it", async () => {
      const x = await client.get<V1Pod>(Pods, "bound-too-big", ns);
      return x.status?.phase === "Failed" && x;
    });
    expect(p.status?.reason).toBe("OutOfcpu");
    expect(p.status?.message).toContain("Node didn't have enough resource: cpu");
    await client.delete(Pods, "bound-too-big", ns, { gracePeriodSeconds: 0 });
  });

  it("maintenance mode evacuates a host through the Eviction API and waits for a PodDisruptionBudget", async () => {
    const target = hosts[0]!;
    await client.create(pdbs, {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: "web", namespace: ns },
      spec: { minAvailable: 3, selector: { matchLabels: { app: "web" } } },
    });
    // Make sure a Deployment pod sits on the target, so the PDB has something to block.
    const onTarget = (await listPods()).filter(
      (p) => p.spec?.nodeName === target && p.metadata?.labels?.app === "web",
    );
    if (onTarget.length === 0) {
      await client.create(Pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "web-pinned", namespace: ns, labels: { app: "web" } },
        spec: {
          nodeName: target,
          tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists" }],
          containers: [{ name: "web", image: "nginx" }],
        },
      });
    }
    await eventually("PDB has observed the pods", async () => {
      const p = await client.get<
        KubeObject & { status?: { observedGeneration?: number; currentHealthy?: number } }
      >(pdbs, "web", ns);
      return (p.status?.currentHealthy ?? 0) >= 3;
    });
    await client.patch(ESXiHostResource, target, undefined, { spec: { maintenanceMode: true } });

    const blocked = await eventually(
      "evacuation blocked by the PDB",
      async () => {
        const h = await getHost(target);
        return (
          h.status?.conditions?.find((c) => c.type === "Schedulable" && c.reason === "EvacuationBlocked") && h
        );
      },
      60_000,
    );
    expect(blocked.status?.inMaintenanceMode).toBe(false);
    const node = await client.get<V1Node>(Nodes, target);
    expect(node.spec?.unschedulable).toBe(true);
    // VSpherePods were evicted and placed on the other hosts meanwhile.
    await eventually(
      "no VSpherePod left on the host",
      async () =>
        (await listVpods()).every((v) => v.status?.hostName !== target && v.status?.phase === "Running"),
      60_000,
    );

    await client.delete(pdbs, "web", ns);
    const done = await eventually(
      "host in maintenance mode",
      async () => {
        const h = await getHost(target);
        return h.status?.inMaintenanceMode === true && h;
      },
      60_000,
    );
    expect(done.status?.podCount).toBe(0);
    expect((await listPods()).filter((p) => p.spec?.nodeName === target)).toEqual([]);

    await client.patch(ESXiHostResource, target, undefined, { spec: { maintenanceMode: false } });
    await eventually(
      "node uncordoned",
      async () => !(await client.get<V1Node>(Nodes, target)).spec?.unschedulable,
    );
  });

  it("notices a failed host (node Unknown, host notResponding), re-places its VSpherePods, and recovers", async () => {
    const target = hosts[1]!;
    const deploymentPodsBefore = (await listPods()).filter(
      (p) => p.spec?.nodeName === target && p.metadata?.labels?.app === "web",
    );
    await client.patch(ESXiHostResource, target, undefined, { spec: { simulation: { heartbeats: false } } });
    // The node lifecycle controller marks the node Unknown after its grace period (50 s).
    await eventually(
      "node Unknown",
      async () => nodeReadyStatus(await client.get<V1Node>(Nodes, target)) === "Unknown",
      120_000,
      1000,
    );
    const h = await eventually("host notResponding", async () => {
      const x = await getHost(target);
      return x.status?.connectionState === "notResponding" && x;
    });
    expect(h.status?.conditions?.find((c) => c.type === "Ready")?.reason).toBe("NotResponding");
    const node = await client.get<V1Node>(Nodes, target);
    expect(node.spec?.taints?.map((t) => t.key)).toContain("node.kubernetes.io/unreachable");
    await eventually(
      "VSpherePods re-placed off the failed host and Running",
      async () =>
        (await listVpods())
          .filter((v) => v.metadata.name!.startsWith("vp-"))
          .every((v) => v.status?.hostName !== target && v.status?.phase === "Running"),
      60_000,
    );
    const restarted = (await listVpods()).filter((v) => (v.status?.placements ?? 0) > 1);
    expect(restarted.length).toBeGreaterThan(0);

    await client.patch(ESXiHostResource, target, undefined, { spec: { simulation: { heartbeats: true } } });
    await eventually(
      "node Ready again",
      async () => nodeReadyStatus(await client.get<V1Node>(Nodes, target)) === "True",
      60_000,
    );
    await eventually(
      "host connected again",
      async () => (await getHost(target)).status?.connectionState === "connected",
    );
    // Pods that stayed on the host through the outage are Ready again.
    for (const p of deploymentPodsBefore) {
      await eventually(`pod ${p.metadata?.name} Ready again`, async () => {
        const x = await client.get<V1Pod>(Pods, p.metadata!.name!, ns).catch(() => undefined);
        return !x || x.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
      });
    }
  });

  it("leaves no Node, Lease or Pod behind when everything is deleted", async () => {
    for (const v of await listVpods()) await client.delete(VSpherePodResource, v.metadata.name!, ns);
    await client.delete(apps, "web", ns);
    for (const h of hosts) await client.delete(ESXiHostResource, h);
    const gone = async (fn: () => Promise<unknown>) =>
      fn().then(
        () => false,
        (e) => isNotFound(e),
      );
    for (const h of hosts) {
      await eventually(`node ${h} gone`, () => gone(() => client.get(Nodes, h)), 60_000);
      await eventually(`lease ${h} gone`, () => gone(() => client.get(Leases, h, "kube-node-lease")), 60_000);
    }
    // Pods bound to the deleted nodes are removed by the pod garbage collector (orphaned pods).
    await eventually("no pods left", async () => (await listPods()).length === 0, 120_000, 1000);
  });
});

describe("the manager as the chart's ServiceAccount", () => {
  it("was never refused by the API server (the chart's RBAC covers every request)", async () => {
    await expectNoForbidden(mgr);
  });
});
