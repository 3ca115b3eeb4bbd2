// What a TanzuKubernetesCluster is made of, as pure functions: a Cluster (owned by the TKC) with the
// `tanzukubernetescluster` topology, as the real Supervisor makes it since vSphere 8 — the control
// plane's class and storage class are the topology's variables, each node pool a MachineDeployment
// of class `node-pool` whose own class, storage class and labels are its overrides. Everything below
// (KubeadmControlPlane, MachineDeployments, the control-plane VirtualMachineService, the kubeconfig
// Secret) is the topology step's (controllers/capi/cluster, shared/topology), under the names TKG
// gives them.
import { type Cluster, ClusterApiVersion } from "../../api/cluster/cluster.ts";
import { CapiLabels, TKR_LABEL } from "../../api/contracts.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterApiVersion,
} from "../../api/run/tanzukubernetescluster.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import { controllerRef } from "../../runtime/owner.ts";
import { compareVersions, semver } from "../../shared/tkr.ts";
import { topologyNames } from "../../shared/topology/desired.ts";
import { API_SERVER_PORT, endpointNames } from "../../shared/topology/endpoint.ts";
import {
  asClusterTopology,
  type MachineDeploymentTopology,
  type TopologyVariable,
} from "../../shared/topology/types.ts";

/** The ClusterClass a TKC's Cluster names (published into every Supervisor Namespace) and its worker class. */
export const TKC_CLASS = "tanzukubernetescluster";
export const NODE_POOL_CLASS = "node-pool";

export const names = {
  cluster: (tkc: string) => tkc,
  controlPlane: topologyNames.controlPlane,
  nodePool: topologyNames.machineDeployment,
  service: endpointNames.service,
  kubeconfig: endpointNames.kubeconfig,
};

/** The release named by the control plane (node pools follow it unless they name their own). */
export function releaseOf(tkc: TanzuKubernetesCluster): string | undefined {
  return tkc.spec.topology.controlPlane.tkr?.reference?.name;
}

/** Releases one may upgrade to from `current`: newer, same major, at most the next minor. */
export function upgradesFrom(current: string | undefined, releases: TanzuKubernetesRelease[]): string[] {
  const c = semver(current);
  if (!c) return [];
  return releases
    .filter((r) => {
      const v = semver(r.spec.kubernetes.version);
      return (
        !!v && v[0] === c[0] && v[1] <= c[1] + 1 && compareVersions(r.spec.kubernetes.version, current) > 0
      );
    })
    .map((r) => r.metadata.name ?? "")
    .sort();
}

/** The TKC's name (set: the API server requires it). */
export const nameOf = (o: { metadata?: { name?: string } }) => o.metadata?.name ?? "";

const labelsOf = (tkc: TanzuKubernetesCluster) => ({ [CapiLabels.clusterName]: nameOf(tkc) });

type Pool = NonNullable<TanzuKubernetesCluster["spec"]["topology"]["nodePools"]>[number];

/** A node pool as a MachineDeployment topology: what differs from the control plane is an override. */
function machineDeployment(pool: Pool): MachineDeploymentTopology {
  const labels = Object.entries((pool.labels ?? {}) as Record<string, string>);
  // timeAdded is the API server's to set on a Node (and the class's schema types it otherwise).
  const taints = (pool.taints ?? []).map(({ key, value, effect }) => ({
    key,
    effect,
    ...(value ? { value } : {}),
  }));
  const overrides: TopologyVariable[] = [
    { name: "vmClass", value: pool.vmClass },
    { name: "storageClass", value: pool.storageClass },
    ...(labels.length
      ? [{ name: "nodePoolLabels", value: labels.map(([key, value]) => ({ key, value })) }]
      : []),
    ...(taints.length ? [{ name: "nodePoolTaints", value: taints }] : []),
  ];
  return {
    class: NODE_POOL_CLASS,
    name: pool.name,
    replicas: pool.replicas,
    ...(pool.failureDomain ? { failureDomain: pool.failureDomain } : {}),
    ...(pool.nodeDrainTimeout ? { nodeDrainTimeout: pool.nodeDrainTimeout } : {}),
    variables: { overrides },
  };
}

/** The TKC's Cluster; `release` is the control plane's (found: the reconciler checked). */
export function desiredCluster(tkc: TanzuKubernetesCluster, release: TanzuKubernetesRelease): Cluster {
  const net = tkc.spec.settings?.network;
  const name = nameOf(tkc);
  const cp = tkc.spec.topology.controlPlane;
  return {
    apiVersion: ClusterApiVersion,
    kind: "Cluster",
    metadata: {
      name: names.cluster(name),
      namespace: tkc.metadata.namespace,
      labels: { ...labelsOf(tkc), [TKR_LABEL]: release.metadata.name ?? "" },
      ownerReferences: [
        controllerRef({
          apiVersion: TanzuKubernetesClusterApiVersion,
          kind: "TanzuKubernetesCluster",
          metadata: tkc.metadata,
        }),
      ],
    },
    spec: {
      clusterNetwork: {
        apiServerPort: API_SERVER_PORT,
        pods: { cidrBlocks: net?.pods?.cidrBlocks ?? ["192.168.0.0/16"] },
        services: { cidrBlocks: net?.services?.cidrBlocks ?? ["10.96.0.0/12"] },
        serviceDomain: net?.serviceDomain ?? "cluster.local",
      },
      topology: asClusterTopology({
        class: TKC_CLASS,
        version: release.spec.version,
        controlPlane: {
          replicas: cp.replicas,
          ...(cp.nodeDrainTimeout ? { nodeDrainTimeout: cp.nodeDrainTimeout } : {}),
        },
        workers: { machineDeployments: (tkc.spec.topology.nodePools ?? []).map(machineDeployment) },
        variables: [
          { name: "vmClass", value: cp.vmClass },
          { name: "storageClass", value: cp.storageClass },
        ],
      }),
    },
  };
}
