// The topology step's decisions: what a Cluster's topology makes, the names and labels upstream
// gives, variables with overrides, control plane first on an upgrade, and why nothing is made.

import { describe, expect, it } from "vitest";
import type { Cluster } from "../../api/cluster/cluster.ts";
import type { ClusterClass } from "../../api/cluster/clusterclass.ts";
import type { MachineDeployment } from "../../api/cluster/machinedeployment.ts";
import type { KubeadmControlPlane } from "../../api/controlplane/kubeadmcontrolplane.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import { controlPlaneRegistration, nodeRegistrationOf } from "../noderegistration.ts";
import { controlPlaneUpgraded, planTopology, type TopologyInput } from "./desired.ts";
import type { ClusterTopology } from "./types.ts";

const release = (version: string, k8s: string): TanzuKubernetesRelease => ({
  apiVersion: "run.tanzu.vmware.com/v1alpha3",
  kind: "TanzuKubernetesRelease",
  metadata: { name: version.replace("+", "---") },
  spec: { version, kubernetes: { version: k8s }, osImages: [{ name: "photon-5" }] },
});
const V126 = release("v1.26.5+vmware.2-fips.1-tkg.1", "v1.26.5+vmware.2");
const V127 = release("v1.27.4+vmware.1-fips.1-tkg.1", "v1.27.4+vmware.1");

const klass = (defaults: Record<string, unknown> = {}): ClusterClass =>
  ({
    apiVersion: "cluster.x-k8s.io/v1beta1",
    kind: "ClusterClass",
    metadata: { name: "tanzukubernetescluster", namespace: "dev" },
    spec: {
      workers: { machineDeployments: [{ class: "node-pool" }] },
      variables: ["vmClass", "storageClass", "nodePoolLabels"].map((name) => ({
        name,
        required: false,
        schema: { openAPIV3Schema: defaults[name] === undefined ? {} : { default: defaults[name] } },
      })),
    },
  }) as unknown as ClusterClass;

const topology = (t: Partial<ClusterTopology> = {}): ClusterTopology => ({
  class: "tanzukubernetescluster",
  version: "v1.26.5+vmware.2-fips.1-tkg.1",
  controlPlane: { replicas: 3 },
  workers: {
    machineDeployments: [
      { class: "node-pool", name: "np-1", replicas: 2 },
      {
        class: "node-pool",
        name: "np-2",
        replicas: 1,
        variables: {
          overrides: [
            { name: "vmClass", value: "guaranteed-large" },
            { name: "nodePoolLabels", value: [{ key: "tier", value: "gpu" }] },
          ],
        },
      },
    ],
  },
  variables: [
    { name: "vmClass", value: "best-effort-medium" },
    { name: "storageClass", value: "vsan" },
  ],
  ...t,
});

const cluster: Cluster = {
  apiVersion: "cluster.x-k8s.io/v1beta1",
  kind: "Cluster",
  metadata: { name: "c1", namespace: "dev", uid: "cu1" },
  spec: {},
};

const input = (i: Partial<TopologyInput> = {}): TopologyInput => ({
  cluster,
  topology: topology(),
  clusterClass: klass(),
  release: V126,
  kcp: undefined,
  mds: [],
  ...i,
});

const ok = (i: TopologyInput) => {
  const p = planTopology(i);
  if (!p.ok) throw new Error(`plan failed: ${p.message}`);
  return p;
};

describe("planTopology", () => {
  it("makes the control plane and one MachineDeployment per entry, owned by the Cluster, labelled as upstream", () => {
    const p = ok(input());
    expect(p.controlPlane.metadata.name).toBe("c1-control-plane");
    expect(p.controlPlane.spec.replicas).toBe(3);
    expect(p.controlPlane.spec.version).toBe("v1.26.5+vmware.2");
    expect(p.controlPlane.metadata.labels).toMatchObject({
      "cluster.x-k8s.io/cluster-name": "c1",
      "topology.cluster.x-k8s.io/owned": "",
    });
    expect(p.controlPlane.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Cluster", uid: "cu1", controller: true }),
    ]);
    expect(p.machineDeployments.map((m) => m.metadata.name)).toEqual(["c1-np-1", "c1-np-2"]);
    const [a, b] = p.machineDeployments as [MachineDeployment, MachineDeployment];
    expect(a.metadata.labels).toMatchObject({
      "cluster.x-k8s.io/cluster-name": "c1",
      "topology.cluster.x-k8s.io/owned": "",
      "topology.cluster.x-k8s.io/deployment-name": "np-1",
    });
    expect(a.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Cluster", uid: "cu1" });
    expect(a.spec.replicas).toBe(2);
    expect(p.condition).toEqual({ type: "TopologyReconciled", status: "True" });
    // The VM template the machine path reads: the cluster's variables, then the pool's overrides.
    const ann = (m: MachineDeployment) => m.spec.template.metadata?.annotations;
    expect(p.controlPlane.spec.machineTemplate.metadata?.annotations).toMatchObject({
      "vsphere.pacific.dev/vm-class": "best-effort-medium",
      "vsphere.pacific.dev/storage-class": "vsan",
      "vsphere.pacific.dev/vm-image": "photon-5",
    });
    expect(ann(a)?.["vsphere.pacific.dev/vm-class"]).toBe("best-effort-medium");
    expect(ann(b)?.["vsphere.pacific.dev/vm-class"]).toBe("guaranteed-large");
    expect(b.spec.template.spec?.infrastructureRef?.name).toBe("guaranteed-large");
    expect(b.spec.template.metadata?.labels?.tier).toBe("gpu");
    expect(a.spec.template.metadata?.labels?.tier).toBeUndefined();
  });

  it("takes a variable's default from the class; node.labels as the builtin-generic classes spell them", () => {
    const p = ok(
      input({
        clusterClass: klass({ storageClass: "gold" }),
        topology: topology({
          variables: [
            { name: "vmClass", value: "best-effort-small" },
            { name: "node", value: { labels: { zone: "a" } } },
          ],
        }),
      }),
    );
    expect(
      p.controlPlane.spec.machineTemplate.metadata?.annotations?.["vsphere.pacific.dev/storage-class"],
    ).toBe("gold");
    expect(p.machineDeployments[0]?.spec.template.metadata?.labels?.zone).toBe("a");
  });

  it("carries the node registration (labels, taints) on the machine templates; kubeadm's taint on the control plane", () => {
    const p = ok(
      input({
        topology: topology({
          variables: [
            { name: "vmClass", value: "best-effort-small" },
            { name: "storageClass", value: "vsan" },
            {
              name: "node",
              value: {
                labels: { zone: "a" },
                taints: [{ key: "dedicated", value: "db", effect: "NoExecute" }],
              },
            },
          ],
        }),
      }),
    );
    const reg = (a: Record<string, string | undefined> | undefined) =>
      nodeRegistrationOf(a, { labels: { none: "" }, taints: [] });
    expect(reg(p.controlPlane.spec.machineTemplate.metadata?.annotations)).toEqual(controlPlaneRegistration);
    expect(reg(p.machineDeployments[0]?.spec.template.metadata?.annotations)).toEqual({
      labels: { zone: "a" },
      taints: [{ key: "dedicated", value: "db", effect: "NoExecute" }],
    });
  });

  it("reports a class that is not there, naming it, and makes nothing", () => {
    expect(planTopology(input({ clusterClass: undefined }))).toEqual({
      ok: false,
      reason: "ClusterClassNotFound",
      message: "ClusterClass dev/tanzukubernetescluster (spec.topology.class) not found",
    });
    const other = planTopology(
      input({ topology: topology({ classNamespace: "vmware-system-vks-public" }), clusterClass: undefined }),
    );
    expect(!other.ok && other.message).toContain("vmware-system-vks-public/tanzukubernetescluster");
  });

  it("reports a version without a release, a worker class the class lacks and a missing vmClass", () => {
    const noRelease = planTopology(input({ release: undefined }));
    expect(noRelease).toMatchObject({ ok: false, reason: "TopologyReconcileFailed" });
    expect(!noRelease.ok && noRelease.message).toContain(
      "spec.topology.version v1.26.5+vmware.2-fips.1-tkg.1",
    );
    const badClass = planTopology(
      input({ topology: topology({ workers: { machineDeployments: [{ class: "gpu-pool", name: "x" }] } }) }),
    );
    expect(!badClass.ok && badClass.message).toContain("machineDeployments[0].class: gpu-pool");
    const noVm = planTopology(
      input({ topology: topology({ variables: [{ name: "storageClass", value: "vsan" }] }) }),
    );
    expect(!noVm.ok && noVm.message).toMatch(/vmClass is not set for the control plane/);
  });

  const kcpAt = (spec: string, status: string, ready = 3): KubeadmControlPlane =>
    ({
      metadata: { name: "c1-control-plane", namespace: "dev" },
      spec: { replicas: 3, version: spec, machineTemplate: {} },
      status: { version: status, replicas: 3, updatedReplicas: ready, readyReplicas: ready },
    }) as unknown as KubeadmControlPlane;
  const mdAt = (name: string, version: string): MachineDeployment =>
    ({
      metadata: {
        name: `c1-${name}`,
        namespace: "dev",
        labels: { "topology.cluster.x-k8s.io/deployment-name": name },
        ownerReferences: [{ controller: true, uid: "cu1", kind: "Cluster", name: "c1", apiVersion: "x" }],
      },
      spec: { clusterName: "c1", selector: {}, template: { spec: { version } } },
    }) as unknown as MachineDeployment;

  it("upgrades the control plane first: the pools keep their version until every member runs the new one", () => {
    const old = "v1.26.5+vmware.2";
    const rolling = ok(
      input({ release: V127, kcp: kcpAt(old, old), mds: [mdAt("np-1", old), mdAt("np-2", old)] }),
    );
    expect(rolling.controlPlane.spec.version).toBe("v1.27.4+vmware.1");
    expect(rolling.machineDeployments.map((m) => m.spec.template.spec?.version)).toEqual([old, old]);
    expect(rolling.condition).toMatchObject({
      status: "False",
      severity: "Info",
      reason: "MachineDeploymentsUpgradePending",
    });
    const done = ok(
      input({
        release: V127,
        kcp: kcpAt("v1.27.4+vmware.1", "v1.27.4+vmware.1"),
        mds: [mdAt("np-1", old), mdAt("np-2", old)],
      }),
    );
    expect(done.machineDeployments.map((m) => m.spec.template.spec?.version)).toEqual([
      "v1.27.4+vmware.1",
      "v1.27.4+vmware.1",
    ]);
    expect(done.condition.status).toBe("True");
  });

  it("refuses a downgrade and a skipped minor, naming the field, and changes nothing", () => {
    const at127 = kcpAt("v1.27.4+vmware.1", "v1.27.4+vmware.1");
    const down = planTopology(input({ kcp: at127 }));
    expect(down).toMatchObject({ ok: false, reason: "TopologyReconcileFailed" });
    expect(!down.ok && down.message).toMatch(/^spec.topology.version .* cannot be downgraded/);
    const skip = planTopology(input({ kcp: kcpAt("v1.25.1", "v1.25.1"), release: V127 }));
    expect(!skip.ok && skip.message).toMatch(/may not skip a minor version/);
  });

  it("names the MachineDeployments of pools taken out of the topology (its own only)", () => {
    const mine = mdAt("gone", "v1.26.5+vmware.2");
    const foreign = {
      ...mdAt("other", "v1"),
      metadata: { ...mdAt("other", "v1").metadata, ownerReferences: [] },
    };
    const p = ok(input({ mds: [mdAt("np-1", "v1.26.5+vmware.2"), mine, foreign] }));
    expect(p.stale.map((m) => m.metadata.name)).toEqual(["c1-gone"]);
  });

  it("knows when the control plane has moved to a version", () => {
    expect(controlPlaneUpgraded(undefined, "v1")).toBe(false);
    expect(controlPlaneUpgraded(kcpAt("v2", "v2"), "v2")).toBe(true);
    expect(controlPlaneUpgraded(kcpAt("v2", "v2", 2), "v2")).toBe(false);
    expect(controlPlaneUpgraded(kcpAt("v2", "v1"), "v2")).toBe(false);
  });
});
