// The add-ons a TKC's guest cluster has in kube-system, as kubeadm and the TKC's release put them
// there: CoreDNS (ServiceAccount, RBAC, ConfigMap `coredns`, Deployment `coredns`, Service
// `kube-dns` on the 10th address of the Service CIDR), kube-proxy (ServiceAccount, RBAC, ConfigMap
// and DaemonSet `kube-proxy`), the TKC's CNI (antrea: DaemonSet `antrea-agent`; calico: DaemonSet
// `calico-node`) and the default StorageClass named after spec.settings.storage.defaultClass. Pure
// data: the guest-cluster controller applies them by server-side apply with its field manager, and
// nothing pulls the images (their names are upstream's; the pod runner of guest Nodes runs them).
import { serviceIp } from "./decide.ts";

/** The field manager of every add-on object (kubectl get … --show-managed-fields shows it). */
export const ADDON_FIELD_MANAGER = "pacific-guest-addons";
/** CoreDNS as kubeadm v1.37 deploys it (cmd/kubeadm/app/constants CoreDNSVersion). */
export const COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.14.6";
export const ANTREA_IMAGE = "antrea/antrea-agent-ubuntu:v2.4.0";
export const CALICO_IMAGE = "quay.io/calico/node:v3.30.3";
export const VSPHERE_CSI_DRIVER = "csi.vsphere.vmware.com";

export type Cni = "antrea" | "calico";

export interface AddonSettings {
  cni: Cni;
  /** spec.settings.storage.defaultClass: the Supervisor storage class the guest's default class maps to. */
  defaultStorageClass?: string;
  serviceCidr: string;
  podCidr: string;
  serviceDomain: string;
  /** The guest's API server (kube-proxy's kubeconfig), https://VIP:6443. */
  apiServer: string;
  /** The version the guest API server reports: kube-proxy's image tag follows it. */
  kubernetesVersion: string;
}

/** An object of the guest, as sent to its API server. */
export interface GuestObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

const SYSTEM = "kube-system";
const CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane";

const meta = (name: string, labels?: Record<string, string>, namespaced = true) => ({
  name,
  ...(namespaced ? { namespace: SYSTEM } : {}),
  ...(labels ? { labels } : {}),
});

const serviceAccount = (name: string): GuestObject => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: meta(name),
});

const clusterRoleBinding = (name: string, role: string, sa: string): GuestObject => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "ClusterRoleBinding",
  metadata: meta(name, undefined, false),
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
  subjects: [{ kind: "ServiceAccount", name: sa, namespace: SYSTEM }],
});

function corefile(domain: string): string {
  return [
    ".:53 {",
    "    errors",
    "    health {",
    "       lameduck 5s",
    "    }",
    "    ready",
    `    kubernetes ${domain} in-addr.arpa ip6.arpa {`,
    "       pods insecure",
    "       fallthrough in-addr.arpa ip6.arpa",
    "       ttl 30",
    "    }",
    "    prometheus :9153",
    "    forward . /etc/resolv.conf {",
    "       max_concurrent 1000",
    "    }",
    "    cache 30",
    "    loop",
    "    reload",
    "    loadbalance",
    "}",
    "",
  ].join("\n");
}

function coreDns(s: AddonSettings): GuestObject[] {
  const app = { "k8s-app": "kube-dns" };
  return [
    serviceAccount("coredns"),
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: meta("system:coredns", undefined, false),
      rules: [
        {
          apiGroups: [""],
          resources: ["endpoints", "services", "pods", "namespaces"],
          verbs: ["list", "watch"],
        },
        { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
      ],
    },
    clusterRoleBinding("system:coredns", "system:coredns", "coredns"),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta("coredns"),
      data: { Corefile: corefile(s.serviceDomain) },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta("coredns", app),
      spec: {
        replicas: 2,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
        selector: { matchLabels: app },
        template: {
          metadata: { labels: app },
          spec: {
            priorityClassName: "system-cluster-critical",
            serviceAccountName: "coredns",
            tolerations: [
              { key: "CriticalAddonsOnly", operator: "Exists" },
              { key: CONTROL_PLANE_TAINT, effect: "NoSchedule" },
            ],
            nodeSelector: { "kubernetes.io/os": "linux" },
            containers: [
              {
                name: "coredns",
                image: COREDNS_IMAGE,
                imagePullPolicy: "IfNotPresent",
                args: ["-conf", "/etc/coredns/Corefile"],
                resources: { limits: { memory: "170Mi" }, requests: { cpu: "100m", memory: "70Mi" } },
                ports: [
                  { containerPort: 53, name: "dns", protocol: "UDP" },
                  { containerPort: 53, name: "dns-tcp", protocol: "TCP" },
                  { containerPort: 9153, name: "metrics", protocol: "TCP" },
                ],
                volumeMounts: [{ name: "config-volume", mountPath: "/etc/coredns", readOnly: true }],
              },
            ],
            dnsPolicy: "Default",
            volumes: [
              {
                name: "config-volume",
                configMap: { name: "coredns", items: [{ key: "Corefile", path: "Corefile" }] },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        ...meta("kube-dns", {
          ...app,
          "kubernetes.io/cluster-service": "true",
          "kubernetes.io/name": "CoreDNS",
        }),
        annotations: { "prometheus.io/port": "9153", "prometheus.io/scrape": "true" },
      },
      spec: {
        clusterIP: serviceIp(s.serviceCidr, 10),
        selector: app,
        ports: [
          { name: "dns", port: 53, protocol: "UDP", targetPort: 53 },
          { name: "dns-tcp", port: 53, protocol: "TCP", targetPort: 53 },
          { name: "metrics", port: 9153, protocol: "TCP", targetPort: 9153 },
        ],
      },
    },
  ];
}

function kubeProxy(s: AddonSettings): GuestObject[] {
  const app = { "k8s-app": "kube-proxy" };
  const kubeconfig = [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- cluster:",
    "    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
    `    server: ${s.apiServer}`,
    "  name: default",
    "contexts:",
    "- context:",
    "    cluster: default",
    "    namespace: default",
    "    user: default",
    "  name: default",
    "current-context: default",
    "users:",
    "- name: default",
    "  user:",
    "    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token",
  ].join("\n");
  const config = [
    "apiVersion: kubeproxy.config.k8s.io/v1alpha1",
    "kind: KubeProxyConfiguration",
    "clientConnection:",
    "  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf",
    `clusterCIDR: ${s.podCidr}`,
    "mode: iptables",
  ].join("\n");
  return [
    serviceAccount("kube-proxy"),
    clusterRoleBinding("kubeadm:node-proxier", "system:node-proxier", "kube-proxy"),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta("kube-proxy", { app: "kube-proxy" }),
      data: { "kubeconfig.conf": kubeconfig, "config.conf": config },
    },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: meta("kube-proxy", app),
      spec: {
        selector: { matchLabels: app },
        updateStrategy: { type: "RollingUpdate" },
        template: {
          metadata: { labels: app },
          spec: {
            priorityClassName: "system-node-critical",
            hostNetwork: true,
            serviceAccountName: "kube-proxy",
            tolerations: [{ operator: "Exists" }],
            nodeSelector: { "kubernetes.io/os": "linux" },
            containers: [
              {
                name: "kube-proxy",
                image: `registry.k8s.io/kube-proxy:${s.kubernetesVersion}`,
                imagePullPolicy: "IfNotPresent",
                command: [
                  "/usr/local/bin/kube-proxy",
                  "--config=/var/lib/kube-proxy/config.conf",
                  "--hostname-override=$(NODE_NAME)",
                ],
                securityContext: { privileged: true },
                env: [{ name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
                volumeMounts: [{ mountPath: "/var/lib/kube-proxy", name: "kube-proxy" }],
              },
            ],
            volumes: [{ name: "kube-proxy", configMap: { name: "kube-proxy" } }],
          },
        },
      },
    },
  ];
}

/** The CNI's node agent, a DaemonSet on every node (control plane included), with its ServiceAccount. */
function cni(s: AddonSettings): GuestObject[] {
  const [name, image, label] =
    s.cni === "calico"
      ? ["calico-node", CALICO_IMAGE, { "k8s-app": "calico-node" }]
      : ["antrea-agent", ANTREA_IMAGE, { app: "antrea", component: "antrea-agent" }];
  return [
    serviceAccount(name),
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: meta(name, label),
      spec: {
        selector: { matchLabels: label },
        updateStrategy: { type: "RollingUpdate" },
        template: {
          metadata: { labels: label },
          spec: {
            priorityClassName: "system-node-critical",
            hostNetwork: true,
            serviceAccountName: name,
            tolerations: [{ operator: "Exists" }],
            nodeSelector: { "kubernetes.io/os": "linux" },
            containers: [
              {
                name: s.cni === "calico" ? "calico-node" : "antrea-agent",
                image,
                imagePullPolicy: "IfNotPresent",
                securityContext: { privileged: true },
                env: [
                  { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                  ...(s.cni === "calico" ? [{ name: "CALICO_IPV4POOL_CIDR", value: s.podCidr }] : []),
                ],
              },
            ],
          },
        },
      },
    },
  ];
}

/** The guest's default StorageClass: the paravirtual CSI's, mapping to the Supervisor's class. */
function storageClass(name: string): GuestObject {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name,
      annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
    },
    provisioner: VSPHERE_CSI_DRIVER,
    parameters: { svStorageClass: name },
    reclaimPolicy: "Delete",
    allowVolumeExpansion: true,
    volumeBindingMode: "Immediate",
  };
}

/** Every add-on object of a guest, in apply order (ServiceAccounts and RBAC before their users). */
export function addonObjects(s: AddonSettings): GuestObject[] {
  return [
    ...coreDns(s),
    ...kubeProxy(s),
    ...cni(s),
    ...(s.defaultStorageClass ? [storageClass(s.defaultStorageClass)] : []),
  ];
}

const PLURALS: Record<string, string> = {
  ServiceAccount: "serviceaccounts",
  ClusterRole: "clusterroles",
  ClusterRoleBinding: "clusterrolebindings",
  ConfigMap: "configmaps",
  Deployment: "deployments",
  DaemonSet: "daemonsets",
  Service: "services",
  StorageClass: "storageclasses",
};

/** The object's URL path on the guest API server (for GET and the server-side apply PATCH). */
export function objectPath(o: GuestObject): string {
  const plural = PLURALS[o.kind];
  if (!plural) throw new Error(`no resource path for kind ${o.kind}`);
  const base = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const ns = o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : "";
  return `${base}${ns}/${plural}/${encodeURIComponent(o.metadata.name)}`;
}

/** The CNI a TKC names (spec.settings.network.cni.name); antrea, the TKC default, otherwise. */
export function cniOf(name: string | undefined): Cni {
  return name === "calico" ? "calico" : "antrea";
}
