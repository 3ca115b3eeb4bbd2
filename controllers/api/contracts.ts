// The contracts between controllers: every label, annotation, finalizer and well-known object name
// that one controller writes and another (or an admission policy in the chart) reads, defined once.
// Written by hand (the rest of api/ is generated from crds/).

// ---------- Pacific's own ----------
/** On everything Pacific makes; informers of children select on it. */
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "pacific";
export const managedByLabels = { [MANAGED_BY_LABEL]: MANAGED_BY } as const;
export const MANAGED_BY_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
/** The namespace the manager runs in; isolated namespaces admit traffic from it. */
export const SYSTEM_NAMESPACE = "pacific-system";

// ---------- Supervisor Namespaces ----------
/** On a Supervisor Namespace's Namespace and children: the SupervisorNamespace's name. */
export const SUPERVISOR_NAMESPACE_LABEL = "vsphere.pacific.dev/supervisor-namespace";
/** On the Namespace: the bound storage classes, comma separated. Only Pacific writes it; the
 *  storage ValidatingAdmissionPolicy and the VM Service read it. */
export const STORAGE_CLASSES_ANNOTATION = "vsphere.pacific.dev/storage-classes";
/** On the Namespace: the access list's subjects, comma-separated `Kind:name`. Only Pacific writes it;
 *  the tenant RoleBinding policy (charts/pacific/templates/tenant-policies.yaml) reads it. */
export const ACCESS_SUBJECTS_ANNOTATION = "vsphere.pacific.dev/access-subjects";
/** On the Namespace: "true" when the admin isolates its network; the tenant NetworkPolicy policy selects on it. */
export const NETWORK_ISOLATION_LABEL = "vsphere.pacific.dev/network-isolation";
export const SUPERVISOR_NAMESPACE_FINALIZER = "vsphere.pacific.dev/supervisor-namespace";
/** On the Namespace: held until no object of a Pacific kind is left in it. */
export const WORKLOADS_FINALIZER = "vsphere.pacific.dev/workloads";
/** The namespace's CPU/memory/count limits; the VM Service checks VMs against it. */
export const LIMITS_QUOTA_NAME = "pacific-limits";
export const DEFAULTS_LIMIT_RANGE_NAME = "pacific-defaults";
export const ISOLATION_NETWORK_POLICY_NAME = "pacific-isolation";
export const OWNER_CLUSTER_ROLE = "pacific-namespace-owner";
/** On a namespace's RoleBindings. */
export const ROLE_LABEL = "vsphere.pacific.dev/role";
export const SUBJECT_ANNOTATION = "vsphere.pacific.dev/subject";

// ---------- storage ----------
export const CSI_DRIVER = "csi.vsphere.vmware.com";
/** On a per-class ResourceQuota and on VM templates. */
export const STORAGE_CLASS_LABEL = "vsphere.pacific.dev/storage-class";
export const STORAGE_POLICY_ANNOTATION = "vsphere.pacific.dev/storage-policy";
/** `pacific-storage-<class>`: the ResourceQuota of one StorageClassBinding. */
export const storageQuotaName = (storageClass: string) => `pacific-storage-${storageClass}`;

// ---------- ESXi hosts and pods ----------
/** On an ESXi host's Node: the ESXiHost's name (the inventory's informers select on it). */
export const ESXI_HOST_LABEL = "vsphere.pacific.dev/esxi-host";
export const VSPHERE_CLUSTER_LABEL = "vsphere.pacific.dev/cluster";
export const HOST_INDEX_ANNOTATION = "vsphere.pacific.dev/host-index";
/** The taint on every ESXi host's Node (virtual-kubelet's); a pod must tolerate it to run there. */
export const PROVIDER_TAINT_KEY = "virtual-kubelet.io/provider";
export const PROVIDER_TAINT_VALUE = "vsphere";
/** On a VSpherePod's Pod. */
export const VSPHEREPOD_LABEL = "vsphere.pacific.dev/vspherepod";
export const TEMPLATE_HASH_ANNOTATION = "vsphere.pacific.dev/template-hash";
/** Reasons a host itself rejects a pod for (maintenance mode, cordoned): the VSpherePod is placed again. */
export const HOST_REJECTION_REASONS = ["HostInMaintenanceMode", "NodeUnschedulable"] as const;
/** Per-object overrides of the simulation settings. */
export const SimulationAnnotations = {
  podStartDelay: "vsphere.pacific.dev/pod-start-delay",
  podStartJitter: "vsphere.pacific.dev/pod-start-jitter",
  /** A Job's (restartPolicy Never/OnFailure) containers run this long, then the pod is Succeeded. */
  podRunTime: "vsphere.pacific.dev/pod-run-time",
  vmBootDelay: "vsphere.pacific.dev/vm-boot-delay",
} as const;

// ---------- Cluster API, CAPV, TKG ----------
export const CapiLabels = {
  clusterName: "cluster.x-k8s.io/cluster-name",
  controlPlane: "cluster.x-k8s.io/control-plane",
  controlPlaneName: "cluster.x-k8s.io/control-plane-name",
  deploymentName: "cluster.x-k8s.io/deployment-name",
  templateHash: "machine-template-hash",
  capvClusterName: "capv.vmware.com/cluster.name",
  capvClusterRole: "capv.vmware.com/cluster.role",
} as const;
/** Cluster API's topology controller labels what it makes (KubeadmControlPlane, MachineDeployments). */
export const TopologyLabels = {
  owned: "topology.cluster.x-k8s.io/owned",
  deploymentName: "topology.cluster.x-k8s.io/deployment-name",
} as const;
/** A machine's VM template rides on the Machine (Pacific has no VSphereMachineTemplate kind). */
export const VMTemplateAnnotations = {
  className: "vsphere.pacific.dev/vm-class",
  storageClass: "vsphere.pacific.dev/storage-class",
  imageName: "vsphere.pacific.dev/vm-image",
} as const;
/**
 * What a machine's kubelet registers its Node with — kubeadm's nodeRegistration (node labels,
 * taints) — rides on the Machine as JSON, as the VM template does (Pacific has no KubeadmConfig
 * kinds): shared/noderegistration.ts writes and reads it.
 */
export const NODE_REGISTRATION_ANNOTATION = "bootstrap.pacific.dev/node-registration";
export const NODE_POOL_LABEL = "run.tanzu.vmware.com/node-pool";
export const TKR_LABEL = "run.tanzu.vmware.com/tkr";
export const CLUSTER_SECRET_TYPE = "cluster.x-k8s.io/secret";
/**
 * What the guest-cluster controller last saw of a guest's API server, written on the Cluster's
 * KubeadmControlPlane (upstream's KCP controller asks the workload cluster itself; here the
 * controller that runs the guest probes it and the KCP's status reads these).
 */
export const GuestAnnotations = {
  /** "True" when GET /readyz answered 200 (admin client certificate, only the guest CA trusted), else "False". */
  apiServerReady: "guestcluster.pacific.dev/api-server-ready",
  /** The gitVersion the guest API server's /version reports. */
  apiServerVersion: "guestcluster.pacific.dev/api-server-version",
} as const;

// ---------- the Registry Service ----------
/** On a SupervisorNamespace: held until its project in the registry is emptied and collected. */
export const REGISTRY_FINALIZER = "vsphere.pacific.dev/registry-project";
/** On the Namespace: the registries its pods may use, comma separated (absent: any). Only Pacific
 *  writes it; the chart's ValidatingAdmissionPolicy pacific-allowed-registries reads it. */
export const ALLOWED_REGISTRIES_ANNOTATION = "vsphere.pacific.dev/allowed-registries";
/** The dockerconfigjson Secret on each Supervisor Namespace's default ServiceAccount (RBAC names it). */
export const REGISTRY_PULL_SECRET_NAME = "pacific-registry-pull";
export const REGISTRY_PULL_SECRET_LABEL = "vsphere.pacific.dev/registry-pull-secret";
/** The virtual resource the namespace roles grant pull/push on (the chart's aggregated ClusterRoles). */
export const REGISTRY_RBAC_GROUP = "vsphere.pacific.dev";
export const REGISTRY_RBAC_RESOURCE = "registryprojects";
