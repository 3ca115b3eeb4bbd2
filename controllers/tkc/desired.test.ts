import { describe, expect, it } from "vitest";
import type { TanzuKubernetesCluster } from "../api/run/tanzukubernetescluster.ts";
import {
  compareVersions,
  desiredCluster,
  desiredNodePool,
  names,
  semver,
  tkrName,
  upgradesFrom,
} from "./desired.ts";
import { desiredRelease, parseReleases } from "./releases.ts";

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
  it("names releases and parses versions", () => {
    expect(tkrName("v1.23.8+vmware.3-tkg.1")).toBe("v1.23.8---vmware.3-tkg.1");
    expect(semver("v1.24.11+vmware.1")).toEqual([1, 24, 11]);
    expect(compareVersions("v1.24.1", "v1.23.9")).toBeGreaterThan(0);
    const r = desiredRelease("v1.24.11+vmware.1-fips.1-tkg.1");
    expect(r.metadata.name).toBe("v1.24.11---vmware.1-fips.1-tkg.1");
    expect(r.spec.kubernetes.version).toBe("v1.24.11+vmware.1");
    expect(() => parseReleases("- 1.2.3")).toThrow(/not a TKR version/);
  });

  it("offers upgrades to newer releases of the same or next minor only", () => {
    const rel = [
      "v1.23.8+vmware.3-tkg.1",
      "v1.24.11+vmware.1-fips.1-tkg.1",
      "v1.25.7+vmware.3-fips.1-tkg.1",
    ].map(desiredRelease);
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
    const md = desiredNodePool(
      tkc,
      { ...cluster, metadata: { ...cluster.metadata, uid: "c1" } },
      tkc.spec.topology.nodePools![0]!,
      desiredRelease("v1.23.8+vmware.3-tkg.1"),
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
