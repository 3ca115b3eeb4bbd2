// What both guest-cluster runtimes (local processes, pods) run the same way: the set of leaf
// certificates and kubeconfigs a guest control plane needs, and the command lines of its four
// components. Only where things are differs between the runtimes — which address each component
// binds and dials, where its files are — so those come in as a `ControlPlaneLayout`.
import { serviceIp } from "./decide.ts";
import { type ClusterPki, signLeaf } from "./pki.ts";
import { renderKubeconfig, type SecretOwner } from "./secrets.ts";

export const GUEST_API_PORT = 6443;
export const ETCD_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
export const KCM_PORT = 10257;
export const SCHEDULER_PORT = 10259;

export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
export type Component = (typeof COMPONENTS)[number];

export interface GuestSpec {
  namespace: string;
  name: string;
  /** The control-plane endpoint's address (the runtime `local` needs a loopback one). */
  vip: string;
  pki: ClusterPki;
  /** The guest's Service CIDR (the TKC's spec.settings.network.services). */
  serviceCidr: string;
  /** The guest's pod CIDR (the TKC's spec.settings.network.pods): KCM allocates node pod CIDRs from it. */
  podCidr: string;
  /** The Cluster: owner of what the pods runtime makes in its namespace. */
  owner?: SecretOwner;
  /** The Kubernetes version of the Cluster's topology / TKR (v1.33.1+vmware.1): the pods runtime's images. */
  kubernetesVersion?: string;
  /** The StorageClass of the control plane's volumes (the TKC's controlPlane.storageClass), if named. */
  storageClass?: string;
}

export interface EnsureResult {
  adopted: Component[];
  started: Component[];
  /** Not started yet: they wait for the API server. */
  pending: Component[];
}

/** What the guest-cluster reconciler asks of a runtime (local.ts, podsruntime.ts). */
export interface GuestRuntime {
  /** Whether this runtime binds and dials the VIP itself, so that it must be loopback here. */
  readonly loopbackOnly: boolean;
  /** Makes the guest's control plane exist (idempotent): started, adopted or applied. */
  ensure(spec: GuestSpec): Promise<EnsureResult>;
  ready(spec: GuestSpec): Promise<boolean>;
  version(spec: GuestSpec): Promise<string | undefined>;
  /** Server-side apply into the guest (the add-ons). */
  apply(spec: GuestSpec, path: string, obj: object, fieldManager: string): Promise<void>;
  exists(spec: GuestSpec, path: string): Promise<boolean | undefined>;
  /** The Cluster is being deleted: what this runtime itself must remove. */
  stop(namespace: string, name: string): Promise<void>;
}

/** The first address of a CIDR + 1: the `kubernetes` Service's ClusterIP, a SAN of the serving cert. */
export const firstServiceIp = (cidr: string): string => serviceIp(cidr, 1);

/** Where a runtime puts a guest's files and which addresses its components use. */
export interface ControlPlaneLayout {
  /** The path of a certificate or key file (names as in `ControlPlaneFiles.pki`). */
  pki(file: string): string;
  /** The path of a kubeconfig or the scheduler's configuration (names as in `ControlPlaneFiles.config`). */
  config(file: string): string;
  /** etcd's data directory. */
  etcdDataDir: string;
  /** The address etcd listens on and advertises (the API server is its only client). */
  etcdAddress: string;
  /** The address the API server, KCM and the scheduler bind. */
  bindAddress: string;
  /** How the controller-manager and the scheduler reach the API server. */
  internalServer: string;
  /** Extra SANs of the API server's serving certificate (beside the VIP and `kubernetes.default…`). */
  apiServerSans?: { ips?: string[]; dnsNames?: string[] };
}

/** The files of a guest control plane: PEMs (pki/) and kubeconfigs + scheduler configuration. */
export interface ControlPlaneFiles {
  pki: Record<string, string>;
  config: Record<string, string>;
}

/** The file names controlPlaneFiles makes (pods.ts reads them back from its Secret by these). */
export const CONTROL_PLANE_FILE_NAMES: { readonly pki: string[]; readonly config: string[] } = {
  pki: [
    "ca.crt",
    "ca.key",
    "etcd-ca.crt",
    "front-proxy-ca.crt",
    "sa.pub",
    "sa.key",
    "apiserver.crt",
    "apiserver.key",
    "etcd-server.crt",
    "etcd-server.key",
    "etcd-client.crt",
    "etcd-client.key",
    "front-proxy-client.crt",
    "front-proxy-client.key",
    "admin.crt",
    "admin.key",
  ],
  config: [
    "admin.kubeconfig",
    "kube-controller-manager.kubeconfig",
    "kube-scheduler.kubeconfig",
    "kube-scheduler.yaml",
  ],
};

/**
 * The leaf certificates (signed by the cluster's CAs with pki.ts's signLeaf), the admin, controller-
 * manager and scheduler kubeconfigs, and the scheduler's configuration. The admin kubeconfig names
 * the VIP (it is what the manager dials); the components' name `layout.internalServer`.
 */
export async function controlPlaneFiles(
  spec: GuestSpec,
  layout: ControlPlaneLayout,
): Promise<ControlPlaneFiles> {
  const { ca, etcd, proxy, sa } = spec.pki;
  const svcIp = firstServiceIp(spec.serviceCidr);
  const [apiserver, etcdServer, etcdClient, proxyClient, admin, kcm, scheduler] = await Promise.all([
    signLeaf(ca, {
      commonName: "kube-apiserver",
      usage: "server",
      dnsNames: [
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        ...(layout.apiServerSans?.dnsNames ?? []),
      ],
      ips: unique([spec.vip, svcIp, ...(layout.apiServerSans?.ips ?? [])]),
    }),
    signLeaf(etcd, {
      commonName: "etcd-server",
      usage: "both",
      dnsNames: ["localhost"],
      ips: [layout.etcdAddress],
    }),
    signLeaf(etcd, { commonName: "kube-apiserver-etcd-client", usage: "client" }),
    signLeaf(proxy, { commonName: "front-proxy-client", usage: "client" }),
    signLeaf(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client" }),
    signLeaf(ca, { commonName: "system:kube-controller-manager", usage: "client" }),
    signLeaf(ca, { commonName: "system:kube-scheduler", usage: "client" }),
  ]);
  const pki: Record<string, string> = {
    "ca.crt": ca.cert,
    "ca.key": ca.key,
    "etcd-ca.crt": etcd.cert,
    "front-proxy-ca.crt": proxy.cert,
    "sa.pub": sa.cert,
    "sa.key": sa.key,
    "apiserver.crt": apiserver.cert,
    "apiserver.key": apiserver.key,
    "etcd-server.crt": etcdServer.cert,
    "etcd-server.key": etcdServer.key,
    "etcd-client.crt": etcdClient.cert,
    "etcd-client.key": etcdClient.key,
    "front-proxy-client.crt": proxyClient.cert,
    "front-proxy-client.key": proxyClient.key,
    "admin.crt": admin.cert,
    "admin.key": admin.key,
  };
  const vipServer = `https://${spec.vip}:${GUEST_API_PORT}`;
  const cluster = spec.name;
  const config: Record<string, string> = {
    "admin.kubeconfig": renderKubeconfig(cluster, vipServer, ca.cert, "kubernetes-admin", admin),
    "kube-controller-manager.kubeconfig": renderKubeconfig(
      cluster,
      layout.internalServer,
      ca.cert,
      "system:kube-controller-manager",
      kcm,
    ),
    "kube-scheduler.kubeconfig": renderKubeconfig(
      cluster,
      layout.internalServer,
      ca.cert,
      "system:kube-scheduler",
      scheduler,
    ),
    "kube-scheduler.yaml": `apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: ${layout.config("kube-scheduler.kubeconfig")}\nleaderElection:\n  leaderElect: false\n`,
  };
  return { pki, config };
}

/**
 * The command line of component `c`: the same flags in both runtimes, the paths and addresses of
 * `layout`. Flags that only one runtime wants are added by that runtime (local: etcd without fsync).
 */
export function componentArgs(spec: GuestSpec, layout: ControlPlaneLayout, c: Component): string[] {
  const p = layout.pki;
  const vip = spec.vip;
  const etcdUrl = `https://${layout.etcdAddress}:${ETCD_PORT}`;
  const peerUrl = `http://${layout.etcdAddress}:${ETCD_PEER_PORT}`;
  switch (c) {
    case "etcd":
      return [
        "--name",
        spec.name,
        "--data-dir",
        layout.etcdDataDir,
        "--listen-client-urls",
        etcdUrl,
        "--advertise-client-urls",
        etcdUrl,
        "--listen-peer-urls",
        peerUrl,
        "--initial-advertise-peer-urls",
        peerUrl,
        "--initial-cluster",
        `${spec.name}=${peerUrl}`,
        "--cert-file",
        p("etcd-server.crt"),
        "--key-file",
        p("etcd-server.key"),
        "--client-cert-auth",
        "--trusted-ca-file",
        p("etcd-ca.crt"),
        "--log-level",
        "warn",
        "--quota-backend-bytes",
        String(256 * 1024 * 1024),
      ];
    case "kube-apiserver":
      return [
        "--etcd-servers",
        etcdUrl,
        "--etcd-cafile",
        p("etcd-ca.crt"),
        "--etcd-certfile",
        p("etcd-client.crt"),
        "--etcd-keyfile",
        p("etcd-client.key"),
        "--bind-address",
        layout.bindAddress,
        "--secure-port",
        String(GUEST_API_PORT),
        "--advertise-address",
        vip,
        "--endpoint-reconciler-type",
        "none",
        "--tls-cert-file",
        p("apiserver.crt"),
        "--tls-private-key-file",
        p("apiserver.key"),
        "--client-ca-file",
        p("ca.crt"),
        "--requestheader-client-ca-file",
        p("front-proxy-ca.crt"),
        "--proxy-client-cert-file",
        p("front-proxy-client.crt"),
        "--proxy-client-key-file",
        p("front-proxy-client.key"),
        "--requestheader-allowed-names",
        "front-proxy-client",
        "--requestheader-username-headers",
        "X-Remote-User",
        "--requestheader-group-headers",
        "X-Remote-Group",
        "--requestheader-extra-headers-prefix",
        "X-Remote-Extra-",
        "--authorization-mode",
        "Node,RBAC",
        "--service-account-key-file",
        p("sa.pub"),
        "--service-account-signing-key-file",
        p("sa.key"),
        "--service-account-issuer",
        "https://kubernetes.default.svc.cluster.local",
        "--service-cluster-ip-range",
        spec.serviceCidr,
        "--allow-privileged=true",
        "--profiling=false",
        // A guest holds a few hundred objects: reads from etcd cost it little, while the watch
        // cache's per-resource rings and indexes are a good part of an idle API server's heap.
        "--watch-cache=false",
      ];
    case "kube-controller-manager":
      return [
        "--kubeconfig",
        layout.config("kube-controller-manager.kubeconfig"),
        "--authentication-kubeconfig",
        layout.config("kube-controller-manager.kubeconfig"),
        "--authorization-kubeconfig",
        layout.config("kube-controller-manager.kubeconfig"),
        "--bind-address",
        layout.bindAddress,
        "--secure-port",
        String(KCM_PORT),
        "--service-account-private-key-file",
        p("sa.key"),
        "--root-ca-file",
        p("ca.crt"),
        "--cluster-signing-cert-file",
        p("ca.crt"),
        "--cluster-signing-key-file",
        p("ca.key"),
        "--allocate-node-cidrs=true",
        "--cluster-cidr",
        spec.podCidr,
        "--service-cluster-ip-range",
        spec.serviceCidr,
        "--use-service-account-credentials=true",
        "--controllers",
        "*",
        "--leader-elect=false",
        "--profiling=false",
      ];
    case "kube-scheduler":
      return [
        "--config",
        layout.config("kube-scheduler.yaml"),
        "--authentication-kubeconfig",
        layout.config("kube-scheduler.kubeconfig"),
        "--authorization-kubeconfig",
        layout.config("kube-scheduler.kubeconfig"),
        "--bind-address",
        layout.bindAddress,
        "--secure-port",
        String(SCHEDULER_PORT),
        "--profiling=false",
      ];
  }
}

const unique = (xs: string[]) => [...new Set(xs)];
