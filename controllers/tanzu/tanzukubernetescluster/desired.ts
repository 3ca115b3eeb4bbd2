// What a TanzuKubernetesCluster is made of, as pure functions: a Cluster (owned by the TKC), and,
// owned by the Cluster, a KubeadmControlPlane, one MachineDeployment per node pool, the
// control-plane VirtualMachineService (its VIP is the cluster's endpoint) and the kubeconfig
// Secret. Names are deterministic, as Cluster API's TKG provider makes them.
import type { V1Secret } from "@kubernetes/client-node";
import { type Cluster, ClusterApiVersion } from "../../api/cluster/cluster.ts";
import type { MachineDeployment } from "../../api/cluster/machinedeployment.ts";
import {
  CapiLabels,
  CLUSTER_SECRET_TYPE,
  NODE_POOL_LABEL,
  TKR_LABEL,
  VMTemplateAnnotations,
} from "../../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneApiVersion,
} from "../../api/controlplane/kubeadmcontrolplane.ts";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterApiVersion,
} from "../../api/run/tanzukubernetescluster.ts";
import type { TanzuKubernetesRelease } from "../../api/run/tanzukubernetesrelease.ts";
import { VirtualMachineApiVersion } from "../../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineService } from "../../api/vmoperator/virtualmachineservice.ts";
import { controllerRef } from "../../runtime/owner.ts";
import { compareVersions, semver } from "../../shared/tkr.ts";

export const API_SERVER_PORT = 6443;

export const names = {
  cluster: (tkc: string) => tkc,
  controlPlane: (tkc: string) => `${tkc}-control-plane`,
  nodePool: (tkc: string, pool: string) => `${tkc}-${pool}`,
  service: (tkc: string) => `${tkc}-control-plane-service`,
  kubeconfig: (tkc: string) => `${tkc}-kubeconfig`,
};

/** The release named by the control plane (node pools follow it unless they name their own). */
export function releaseOf(tkc: TanzuKubernetesCluster): string | undefined {
  return tkc.spec.topology.controlPlane.tkr?.reference?.name;
}

export function imageOf(tkr: TanzuKubernetesRelease): string {
  return tkr.spec.osImages?.[0]?.name ?? `photon-3-amd64-${tkr.metadata.name}`;
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

function vmTemplate(vmClass: string, storageClass: string, image: string): Record<string, string> {
  return {
    [VMTemplateAnnotations.className]: vmClass,
    [VMTemplateAnnotations.storageClass]: storageClass,
    [VMTemplateAnnotations.imageName]: image,
  };
}

export function desiredCluster(tkc: TanzuKubernetesCluster, tkr: string, vip: string | undefined): Cluster {
  const net = tkc.spec.settings?.network;
  const name = nameOf(tkc);
  return {
    apiVersion: ClusterApiVersion,
    kind: "Cluster",
    metadata: {
      name: names.cluster(name),
      namespace: tkc.metadata.namespace,
      labels: { ...labelsOf(tkc), [TKR_LABEL]: tkr },
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
      controlPlaneRef: {
        apiVersion: KubeadmControlPlaneApiVersion,
        kind: "KubeadmControlPlane",
        name: names.controlPlane(name),
        namespace: tkc.metadata.namespace,
      },
      ...(vip ? { controlPlaneEndpoint: { host: vip, port: API_SERVER_PORT } } : {}),
    },
  };
}

export function desiredControlPlane(
  tkc: TanzuKubernetesCluster,
  cluster: Cluster,
  release: TanzuKubernetesRelease,
): KubeadmControlPlane {
  const cp = tkc.spec.topology.controlPlane;
  return {
    apiVersion: KubeadmControlPlaneApiVersion,
    kind: "KubeadmControlPlane",
    metadata: {
      name: names.controlPlane(nameOf(tkc)),
      namespace: tkc.metadata.namespace,
      labels: labelsOf(tkc),
      ownerReferences: [
        controllerRef({ apiVersion: ClusterApiVersion, kind: "Cluster", metadata: cluster.metadata }),
      ],
    },
    spec: {
      replicas: cp.replicas,
      version: release.spec.kubernetes.version,
      machineTemplate: {
        metadata: {
          labels: labelsOf(tkc),
          annotations: vmTemplate(cp.vmClass, cp.storageClass, imageOf(release)),
        },
        infrastructureRef: {
          apiVersion: VirtualMachineApiVersion,
          kind: "VirtualMachineClass",
          name: cp.vmClass,
          namespace: tkc.metadata.namespace,
        },
        ...(cp.nodeDrainTimeout ? { nodeDrainTimeout: cp.nodeDrainTimeout } : {}),
      },
      kubeadmConfigSpec: { clusterConfiguration: { etcd: { local: {} } } },
      rolloutStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } },
    },
  };
}

type Pool = NonNullable<TanzuKubernetesCluster["spec"]["topology"]["nodePools"]>[number];

/** A node pool's MachineDeployment; `version` is what its machines may run now (control plane first). */
export function desiredNodePool(
  tkc: TanzuKubernetesCluster,
  cluster: Cluster,
  pool: Pool,
  release: TanzuKubernetesRelease,
  version: string,
): MachineDeployment {
  const name = names.nodePool(nameOf(tkc), pool.name);
  const selector = { [CapiLabels.clusterName]: nameOf(tkc), [CapiLabels.deploymentName]: name };
  return {
    apiVersion: ClusterApiVersion,
    kind: "MachineDeployment",
    metadata: {
      name,
      namespace: tkc.metadata.namespace,
      labels: { ...labelsOf(tkc), [NODE_POOL_LABEL]: pool.name },
      ownerReferences: [
        controllerRef({ apiVersion: ClusterApiVersion, kind: "Cluster", metadata: cluster.metadata }),
      ],
    },
    spec: {
      clusterName: nameOf(tkc),
      replicas: pool.replicas,
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels: { ...selector, [NODE_POOL_LABEL]: pool.name, ...(pool.labels as Record<string, string>) },
          annotations: vmTemplate(pool.vmClass, pool.storageClass, imageOf(release)),
        },
        spec: {
          clusterName: nameOf(tkc),
          bootstrap: { dataSecretName: `${name}-bootstrap` },
          infrastructureRef: {
            apiVersion: VirtualMachineApiVersion,
            kind: "VirtualMachineClass",
            name: pool.vmClass,
            namespace: tkc.metadata.namespace,
          },
          version,
          ...(pool.failureDomain ? { failureDomain: pool.failureDomain } : {}),
          ...(pool.nodeDrainTimeout ? { nodeDrainTimeout: pool.nodeDrainTimeout } : {}),
        },
      },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    },
  };
}

export function desiredService(tkc: TanzuKubernetesCluster, cluster: Cluster): VirtualMachineService {
  const name = nameOf(tkc);
  return {
    apiVersion: VirtualMachineApiVersion,
    kind: "VirtualMachineService",
    metadata: {
      name: names.service(name),
      namespace: tkc.metadata.namespace,
      labels: labelsOf(tkc),
      ownerReferences: [
        controllerRef({ apiVersion: ClusterApiVersion, kind: "Cluster", metadata: cluster.metadata }),
      ],
    },
    spec: {
      type: "LoadBalancer",
      ports: [{ name: "apiserver", protocol: "TCP", port: API_SERVER_PORT, targetPort: API_SERVER_PORT }],
      selector: { [CapiLabels.capvClusterName]: name, [CapiLabels.capvClusterRole]: "controlplane" },
    },
  };
}

/** The admin kubeconfig Cluster API writes (key `value`); the credentials are placeholders of the simulation. */
export function desiredKubeconfig(tkc: TanzuKubernetesCluster, cluster: Cluster, vip: string): V1Secret {
  const name = nameOf(tkc);
  const kubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${name}`,
    "  cluster:",
    `    server: https://${vip}:${API_SERVER_PORT}`,
    "    insecure-skip-tls-verify: true",
    "contexts:",
    `- name: ${name}-admin@${name}`,
    "  context:",
    `    cluster: ${name}`,
    `    user: ${name}-admin`,
    `current-context: ${name}-admin@${name}`,
    "users:",
    `- name: ${name}-admin`,
    "  user:",
    `    token: simulated-${cluster.metadata.uid}`,
    "",
  ].join("\n");
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: CLUSTER_SECRET_TYPE,
    metadata: {
      name: names.kubeconfig(name),
      namespace: tkc.metadata.namespace,
      labels: labelsOf(tkc),
      ownerReferences: [
        controllerRef({ apiVersion: ClusterApiVersion, kind: "Cluster", metadata: cluster.metadata }),
      ],
    },
    data: { value: Buffer.from(kubeconfig).toString("base64") },
  };
}
