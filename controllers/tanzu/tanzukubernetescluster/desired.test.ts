import { describe, expect, it } from "vitest";
import type { TanzuKubernetesCluster } from "../../api/run/tanzukubernetescluster.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import { tkrName } from "../../shared/tkr.ts";
import { desiredCluster, upgradesFrom } from "./desired.ts";

/** A release of Kubernetes `version` (as the TKR controller makes them, by name and version). */
const release = (version: string): TanzuKubernetesRelease => ({
  apiVersion: "run.tanzu.vmware.com/v1alpha3",
  kind: "TanzuKubernetesRelease",
  metadata: { name: tkrName(version) },
  spec: { version, kubernetes: { version: version.replace(/(-fips\.[0-9]+)?-tkg\.[0-9]+$/, "") } },
});

const tkc = {
  apiVersion: "run.tanzu.vmware.com/v1alpha3",
  kind: "TanzuKubernetesCluster",
  metadata: { name: "tkc-1", namespace: "dev", uid: "u1" },
  spec: {
    topology: {
      controlPlane: {
        replicas: 3,
        vmClass: "best-effort-medium",
        storageClass: "vsan",
        tkr: { reference: { name: "v1.23.8---vmware.3-tkg.1" } },
      },
      nodePools: [{ name: "pool-1", replicas: 3, vmClass: "best-effort-small", storageClass: "vsan" }],
    },
  },
} as unknown as TanzuKubernetesCluster;

describe("TKC desired state", () => {
  it("offers upgrades to newer releases of the same or next minor only", () => {
    const rel = [
      "v1.23.8+vmware.3-tkg.1",
      "v1.24.11+vmware.1-fips.1-tkg.1",
      "v1.25.7+vmware.3-fips.1-tkg.1",
    ].map(release);
    expect(upgradesFrom("v1.23.8+vmware.3", rel)).toEqual(["v1.24.11---vmware.1-fips.1-tkg.1"]);
    expect(upgradesFrom("v1.25.7+vmware.3", rel)).toEqual([]);
  });

  it("makes the Cluster owned by the TKC, with the tanzukubernetescluster topology and pool overrides", () => {
    const pools = [
      { name: "pool-1", replicas: 3, vmClass: "best-effort-small", storageClass: "vsan" },
      {
        name: "gpu",
        replicas: 1,
        vmClass: "guaranteed-large",
        storageClass: "gold",
        labels: { tier: "gpu" },
        taints: [{ key: "gpu", value: "true", effect: "NoSchedule", timeAdded: "2026-01-01T00:00:00Z" }],
      },
    ];
    const t = {
      ...tkc,
      spec: { topology: { ...tkc.spec.topology, nodePools: pools } },
    } as TanzuKubernetesCluster;
    const cluster = desiredCluster(t, release("v1.23.8+vmware.3-tkg.1"));
    expect(cluster.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "TanzuKubernetesCluster",
      uid: "u1",
      controller: true,
    });
    expect(cluster.metadata.labels).toEqual({
      "cluster.x-k8s.io/cluster-name": "tkc-1",
      "run.tanzu.vmware.com/tkr": "v1.23.8---vmware.3-tkg.1",
    });
    // The endpoint and the control-plane reference are the topology step's.
    expect(cluster.spec.controlPlaneEndpoint).toBeUndefined();
    expect(cluster.spec.controlPlaneRef).toBeUndefined();
    expect(cluster.spec.topology).toEqual({
      class: "tanzukubernetescluster",
      version: "v1.23.8+vmware.3-tkg.1",
      controlPlane: { replicas: 3 },
      workers: {
        machineDeployments: [
          {
            class: "node-pool",
            name: "pool-1",
            replicas: 3,
            variables: {
              overrides: [
                { name: "vmClass", value: "best-effort-small" },
                { name: "storageClass", value: "vsan" },
              ],
            },
          },
          {
            class: "node-pool",
            name: "gpu",
            replicas: 1,
            variables: {
              overrides: [
                { name: "vmClass", value: "guaranteed-large" },
                { name: "storageClass", value: "gold" },
                { name: "nodePoolLabels", value: [{ key: "tier", value: "gpu" }] },
                { name: "nodePoolTaints", value: [{ key: "gpu", effect: "NoSchedule", value: "true" }] },
              ],
            },
          },
        ],
      },
      variables: [
        { name: "vmClass", value: "best-effort-medium" },
        { name: "storageClass", value: "vsan" },
      ],
    });
  });
});
