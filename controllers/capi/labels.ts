// Cluster API's and CAPV's well-known labels, and the annotations that carry a machine's VM
// template (Pacific has no VSphereMachineTemplate kind: the template rides on the Machine).
export const Labels = {
  clusterName: "cluster.x-k8s.io/cluster-name",
  controlPlane: "cluster.x-k8s.io/control-plane",
  controlPlaneName: "cluster.x-k8s.io/control-plane-name",
  deploymentName: "cluster.x-k8s.io/deployment-name",
  templateHash: "machine-template-hash",
  capvClusterName: "capv.vmware.com/cluster.name",
  capvClusterRole: "capv.vmware.com/cluster.role",
} as const;

export const VMTemplateAnnotations = {
  className: "vsphere.pacific.dev/vm-class",
  storageClass: "vsphere.pacific.dev/storage-class",
  imageName: "vsphere.pacific.dev/vm-image",
} as const;

export const CLUSTER_API = "cluster.x-k8s.io/v1beta1";
export const VM_OPERATOR = "vmoperator.vmware.com/v1alpha3";

/** Ownership of Cluster API objects by the cluster they belong to, for watch mappings. */
export function clusterOf(o: { metadata?: { namespace?: string; labels?: Record<string, string> } }) {
  const name = o.metadata?.labels?.[Labels.clusterName];
  return name ? [{ namespace: o.metadata?.namespace, name }] : [];
}
