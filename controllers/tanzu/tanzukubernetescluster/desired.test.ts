import { describe, expect, it } from "vitest";
import type { TanzuKubernetesCluster } from "../../api/run/tanzukubernetescluster.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import { tkrName } from "../../shared/tkr.ts";
import { desiredCluster, desiredNodePool, names, upgradesFrom } from "./desired.ts";

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

  it("makes the Cluster owned by the TKC and the pools owned by the Cluster, with Cluster API labels", () => {
    const cluster = desiredCluster(tkc, "v1.23.8---vmware.3-tkg.1", "192.168.128.1");
    expect(cluster.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "TanzuKubernetesCluster",
      uid: "u1",
      controller: true,
    });
    expect(cluster.spec.controlPlaneEndpoint).toEqual({ host: "192.168.128.1", port: 6443 });
    expect(cluster.spec.controlPlaneRef?.name).toBe(names.controlPlane("tkc-1"));
    const pool = tkc.spec.topology.nodePools?.[0];
    if (!pool) throw new Error("the sample has a node pool");
    const md = desiredNodePool(
      tkc,
      { ...cluster, metadata: { ...cluster.metadata, uid: "c1" } },
      pool,
      release("v1.23.8+vmware.3-tkg.1"),
      "v1.23.8+vmware.3",
    );
    expect(md.metadata.name).toBe("tkc-1-pool-1");
    expect(md.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Cluster", uid: "c1" });
    expect(md.spec.selector.matchLabels).toEqual({
      "cluster.x-k8s.io/cluster-name": "tkc-1",
      "cluster.x-k8s.io/deployment-name": "tkc-1-pool-1",
    });
    expect(md.spec.template.metadata?.annotations?.["vsphere.pacific.dev/vm-class"]).toBe(
      "best-effort-small",
    );
  });
});
