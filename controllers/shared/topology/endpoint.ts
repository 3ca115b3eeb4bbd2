// A topology Cluster's endpoint, as CAPV and Cluster API make it: the control-plane
// VirtualMachineService (LoadBalancer, port 6443 `apiserver`; its VIP becomes the Cluster's
// controlPlaneEndpoint) and the admin kubeconfig Secret `<cluster>-kubeconfig` (type
// cluster.x-k8s.io/secret, key `value`), both owned by the Cluster. The same for a Cluster made
// from a TKC and one applied by hand.
import type { V1Secret } from "@kubernetes/client-node";
import { type Cluster, ClusterApiVersion } from "../../api/cluster/cluster.ts";
import { CapiLabels, CLUSTER_SECRET_TYPE } from "../../api/contracts.ts";
import { VirtualMachineApiVersion } from "../../api/vmoperator/virtualmachine.ts";
import type { VirtualMachineService } from "../../api/vmoperator/virtualmachineservice.ts";
import { controllerRef } from "../../runtime/owner.ts";

export const API_SERVER_PORT = 6443;

export const endpointNames = {
  service: (cluster: string) => `${cluster}-control-plane-service`,
  kubeconfig: (cluster: string) => `${cluster}-kubeconfig`,
};

const nameOf = (o: { metadata?: { name?: string } }) => o.metadata?.name ?? "";
const labelsOf = (cluster: Cluster) => ({ [CapiLabels.clusterName]: nameOf(cluster) });
const ownedBy = (cluster: Cluster) => [
  controllerRef({ apiVersion: ClusterApiVersion, kind: "Cluster", metadata: cluster.metadata }),
];

export function desiredService(cluster: Cluster): VirtualMachineService {
  const name = nameOf(cluster);
  return {
    apiVersion: VirtualMachineApiVersion,
    kind: "VirtualMachineService",
    metadata: {
      name: endpointNames.service(name),
      namespace: cluster.metadata.namespace,
      labels: labelsOf(cluster),
      ownerReferences: ownedBy(cluster),
    },
    spec: {
      type: "LoadBalancer",
      ports: [{ name: "apiserver", protocol: "TCP", port: API_SERVER_PORT, targetPort: API_SERVER_PORT }],
      selector: { [CapiLabels.capvClusterName]: name, [CapiLabels.capvClusterRole]: "controlplane" },
    },
  };
}

/** The VIP the load balancer gave the control-plane service, if any yet. */
export const vipOf = (s: VirtualMachineService | undefined) => s?.status?.loadBalancer?.ingress?.[0]?.ip;

/**
 * The kubeconfig Secret Cluster API writes (key `value`), before anything serves the endpoint: the
 * server and the user's name, and nothing false — no credentials (there are none yet) and no
 * insecure-skip-tls-verify. A guest-cluster runtime that starts a control plane replaces it with the
 * cluster CA and an admin certificate (docs/guest-clusters.md); with runtime none it stays so.
 */
export function desiredKubeconfig(cluster: Cluster, vip: string): V1Secret {
  const name = nameOf(cluster);
  const kubeconfig = [
    "# No API server answers here yet, and this user has no credentials: Pacific's guest-cluster",
    "# runtime writes the cluster CA and an admin certificate when a guest control plane runs.",
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${name}`,
    "  cluster:",
    `    server: https://${vip}:${API_SERVER_PORT}`,
    "contexts:",
    `- name: ${name}-admin@${name}`,
    "  context:",
    `    cluster: ${name}`,
    `    user: ${name}-admin`,
    `current-context: ${name}-admin@${name}`,
    "users:",
    `- name: ${name}-admin`,
    "  user: {}",
    "",
  ].join("\n");
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: CLUSTER_SECRET_TYPE,
    metadata: {
      name: endpointNames.kubeconfig(name),
      namespace: cluster.metadata.namespace,
      labels: labelsOf(cluster),
      ownerReferences: ownedBy(cluster),
    },
    data: { value: Buffer.from(kubeconfig).toString("base64") },
  };
}
