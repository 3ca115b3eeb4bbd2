// The `pods` guest-cluster runtime's objects (pure): a guest's control plane hosted in the
// Supervisor itself, as Kamaji's TenantControlPlane and HyperShift's HostedControlPlane do it — a
// StatefulSet of one pod with etcd, kube-apiserver, kube-controller-manager and kube-scheduler from
// the upstream images of the Cluster's Kubernetes version, etcd's data on a PVC, a Secret with the
// leaf certificates and kubeconfigs, and a LoadBalancer Service on the cluster's VIP. All of it is
// in the Cluster's namespace and owned by the Cluster, so the garbage collector removes it (and the
// StatefulSet's retention policy the PVC) when the Cluster goes.
// It cannot run on our machines (no kubelet): docs/guest-clusters.md says how it is checked.
import type { V1Container, V1Probe, V1Secret, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import { CapiLabels, CLUSTER_SECRET_TYPE } from "../api/contracts.ts";
import {
  CONTROL_PLANE_FILE_NAMES,
  type Component,
  type ControlPlaneFiles,
  type ControlPlaneLayout,
  componentArgs,
  GUEST_API_PORT,
  type GuestSpec,
  KCM_PORT,
  SCHEDULER_PORT,
} from "./controlplane.ts";
import type { SecretOwner } from "./secrets.ts";

export const POD_FIELD_MANAGER = "pacific-guest-cluster";

export const hostedNames = {
  /** The StatefulSet, its pod's prefix, and the Service on the VIP. */
  controlPlane: (cluster: string) => `${cluster}-control-plane`,
  /** The Secret with the leaf certificates and kubeconfigs the pod mounts. */
  secret: (cluster: string) => `${cluster}-control-plane-certs`,
};

/** Where the Secret is mounted (kubeconfigs and scheduler config) and its pki/ below it. */
export const CONFIG_DIR = "/etc/kubernetes";
export const ETCD_DIR = "/var/lib/etcd";
/** etcd's health endpoints, plain HTTP, for the kubelet's probes (the client port needs a client cert). */
export const ETCD_METRICS_PORT = 2381;
/** Distroless's nonroot user: the upstream images run as any uid (kubeadm's RootlessControlPlane). */
export const RUN_AS = 65532;

/**
 * Paths in the pod's mounts; etcd on the pod's loopback (only the API server, in the same pod,
 * dials it), the rest bound on all the pod's addresses (the Service and the kubelet's probes reach
 * them on the pod IP). The serving certificate also names 127.0.0.1 (KCM and the scheduler dial it
 * there) and the Service's DNS names.
 */
export function podsLayout(spec: GuestSpec): ControlPlaneLayout {
  const svc = hostedNames.controlPlane(spec.name);
  return {
    pki: (f) => `${CONFIG_DIR}/pki/${f}`,
    config: (f) => `${CONFIG_DIR}/${f}`,
    etcdDataDir: `${ETCD_DIR}/data`, // a subdirectory: etcd makes it 0700 itself, the mount root is the volume's
    etcdAddress: "127.0.0.1",
    bindAddress: "0.0.0.0",
    internalServer: `https://127.0.0.1:${GUEST_API_PORT}`,
    apiServerSans: {
      ips: ["127.0.0.1"],
      dnsNames: [`${svc}.${spec.namespace}.svc`, `${svc}.${spec.namespace}.svc.cluster.local`],
    },
  };
}

/** The upstream release of a TKR's Kubernetes version: v1.33.1+vmware.1 → v1.33.1. */
export function upstreamVersion(v: string): string {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (!m) throw new Error(`not a Kubernetes version: ${JSON.stringify(v)}`);
  return `v${m[1]}.${m[2]}.${m[3]}`;
}

/**
 * registry.k8s.io/etcd's tag for a Kubernetes minor: kubeadm's SupportedEtcdVersion[minor]
 * (cmd/kubeadm/app/constants) in the newest kubeadm of that minor, as read on 4 December 2026 from
 * the modules the Go proxy serves (k8s.io/kubernetes v1.29.6, v1.30.14, v1.31.14, v1.32.13,
 * v1.33.13, v1.34.4, v1.35.4, v1.36.3, v1.37.2). The proxy serves no kubeadm of 1.23–1.28;
 * v1.29.6's table maps those minors to 3.5.12-0 as well. A minor outside the table gets the nearest
 * one's, as kubeadm does (with a warning there).
 */
export const ETCD_FOR_MINOR: Readonly<Record<number, string>> = {
  23: "3.5.12-0",
  24: "3.5.12-0",
  25: "3.5.12-0",
  26: "3.5.12-0",
  27: "3.5.12-0",
  28: "3.5.12-0",
  29: "3.5.12-0",
  30: "3.5.15-0",
  31: "3.5.24-0",
  32: "3.5.24-0",
  33: "3.5.24-0",
  34: "3.6.5-0",
  35: "3.6.6-0",
  36: "3.6.8-0",
  37: "3.7.0-0",
};

export function etcdTag(kubernetesVersion: string): string {
  const minor = Number(upstreamVersion(kubernetesVersion).split(".")[1]);
  const known = Object.keys(ETCD_FOR_MINOR).map(Number);
  const nearest = known.reduce((a, b) => (Math.abs(b - minor) < Math.abs(a - minor) ? b : a));
  return ETCD_FOR_MINOR[nearest] ?? "";
}

export function imageOf(c: Component, kubernetesVersion: string): string {
  return c === "etcd"
    ? `registry.k8s.io/etcd:${etcdTag(kubernetesVersion)}`
    : `registry.k8s.io/${c}:${upstreamVersion(kubernetesVersion)}`;
}

/** etcd serves /livez and /readyz from 3.6 on; older ones have /health only. */
function etcdProbes(tag: string): { liveness: string; readiness: string } {
  const [major = 0, minor = 0] = tag.split(".").map(Number);
  return major > 3 || (major === 3 && minor >= 6)
    ? { liveness: "/livez", readiness: "/readyz" }
    : { liveness: "/health?exclude=NOSPACE&serializable=true", readiness: "/health?serializable=false" };
}

/**
 * Requests: what the local runtime measured per process (docs/guest-clusters.md, Measured: API
 * server ~240 MiB, KCM ~95, scheduler ~67, etcd ~40), CPU as kubeadm's static pods ask.
 */
const REQUESTS: Record<Component, { cpu: string; memory: string }> = {
  etcd: { cpu: "100m", memory: "64Mi" },
  "kube-apiserver": { cpu: "250m", memory: "256Mi" },
  "kube-controller-manager": { cpu: "200m", memory: "96Mi" },
  "kube-scheduler": { cpu: "100m", memory: "64Mi" },
};

const httpsProbe = (path: string, port: number, failureThreshold: number, periodSeconds = 10): V1Probe => ({
  httpGet: { path, port, scheme: "HTTPS" },
  periodSeconds,
  timeoutSeconds: 15,
  failureThreshold,
});

const httpProbe = (path: string, port: number, failureThreshold: number): V1Probe => ({
  httpGet: { path, port, scheme: "HTTP" },
  periodSeconds: 10,
  timeoutSeconds: 15,
  failureThreshold,
});

function container(spec: GuestSpec, c: Component, kubernetesVersion: string): V1Container {
  const image = imageOf(c, kubernetesVersion);
  const args = componentArgs(spec, podsLayout(spec), c);
  const base: V1Container = {
    name: c,
    image,
    imagePullPolicy: "IfNotPresent",
    command: [c, ...args],
    resources: { requests: REQUESTS[c] },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
    volumeMounts: [
      { name: "certs", mountPath: CONFIG_DIR, readOnly: true },
      { name: "tmp", mountPath: "/tmp" },
    ],
  };
  switch (c) {
    case "etcd": {
      const probes = etcdProbes(etcdTag(kubernetesVersion));
      return {
        ...base,
        // The pod's only extra flag: health on plain HTTP for the kubelet (kubeadm's 2381).
        command: [c, ...args, "--listen-metrics-urls", `http://0.0.0.0:${ETCD_METRICS_PORT}`],
        ports: [{ name: "etcd-metrics", containerPort: ETCD_METRICS_PORT }],
        volumeMounts: [...(base.volumeMounts ?? []), { name: "etcd-data", mountPath: ETCD_DIR }],
        startupProbe: httpProbe(probes.liveness, ETCD_METRICS_PORT, 24),
        livenessProbe: httpProbe(probes.liveness, ETCD_METRICS_PORT, 8),
        readinessProbe: httpProbe(probes.readiness, ETCD_METRICS_PORT, 3),
      };
    }
    case "kube-apiserver":
      return {
        ...base,
        ports: [{ name: "https", containerPort: GUEST_API_PORT }],
        startupProbe: httpsProbe("/livez", GUEST_API_PORT, 24),
        livenessProbe: httpsProbe("/livez", GUEST_API_PORT, 8),
        readinessProbe: httpsProbe("/readyz", GUEST_API_PORT, 3, 1),
      };
    case "kube-controller-manager":
      return { ...base, livenessProbe: httpsProbe("/healthz", KCM_PORT, 8) };
    case "kube-scheduler":
      return { ...base, livenessProbe: httpsProbe("/healthz", SCHEDULER_PORT, 8) };
  }
}

export interface HostedControlPlaneInput {
  spec: GuestSpec;
  /** The Cluster. */
  owner: SecretOwner;
  /** The Cluster's topology / TKR version (v1.33.1+vmware.1). */
  kubernetesVersion: string;
  /** controlPlaneFiles(spec, podsLayout(spec)), made once and kept (the Secret is read back). */
  files: ControlPlaneFiles;
  /** The StorageClass of etcd's PVC; the namespace's default when unset. */
  storageClass?: string;
  /** The size of etcd's PVC. */
  etcdStorage?: string;
}

export interface HostedControlPlane {
  secret: V1Secret;
  statefulSet: V1StatefulSet;
  service: V1Service;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

/** The files back from the Secret, or undefined when it is incomplete (then they are made anew). */
export function filesFromSecret(s: V1Secret | undefined): ControlPlaneFiles | undefined {
  const data = s?.data ?? {};
  const out: ControlPlaneFiles = { pki: {}, config: {} };
  for (const [part, names] of Object.entries(CONTROL_PLANE_FILE_NAMES) as [
    keyof ControlPlaneFiles,
    string[],
  ][]) {
    for (const key of names) {
      const v = data[key];
      if (!v) return undefined;
      out[part][key] = Buffer.from(v, "base64").toString("utf8");
    }
  }
  return out;
}

/** The three objects of a guest's hosted control plane. */
export function renderHostedControlPlane(input: HostedControlPlaneInput): HostedControlPlane {
  const { spec, owner, kubernetesVersion, files } = input;
  const { namespace, name: cluster } = spec;
  const name = hostedNames.controlPlane(cluster);
  const ownerReferences = [{ ...owner, controller: true, blockOwnerDeletion: true }];
  const labels = { [CapiLabels.clusterName]: cluster };
  // The pods' own labels (no cluster-name label: other Pacific controllers select on that one).
  const podLabels = {
    "app.kubernetes.io/name": "guest-control-plane",
    "app.kubernetes.io/instance": cluster,
    "app.kubernetes.io/managed-by": "pacific",
  };
  const selector = {
    "app.kubernetes.io/name": podLabels["app.kubernetes.io/name"],
    "app.kubernetes.io/instance": cluster,
  };
  const secret: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    type: CLUSTER_SECRET_TYPE,
    metadata: { name: hostedNames.secret(cluster), namespace, labels, ownerReferences },
    data: Object.fromEntries(Object.entries({ ...files.pki, ...files.config }).map(([k, v]) => [k, b64(v)])),
  };
  const items = [
    ...Object.keys(files.pki).map((key) => ({ key, path: `pki/${key}` })),
    ...Object.keys(files.config).map((key) => ({ key, path: key })),
  ];
  const statefulSet: V1StatefulSet = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace, labels, ownerReferences },
    spec: {
      // One member: the guest's etcd is a single node, as the local runtime's (a three-member etcd
      // would need peer TLS and a quorum-aware rollout; not done).
      replicas: 1,
      serviceName: name,
      selector: { matchLabels: selector },
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate" },
      // The PVC goes with the StatefulSet (so with the Cluster), not when scaled down.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete", whenScaled: "Retain" },
      template: {
        metadata: { labels: podLabels },
        spec: {
          // The control plane needs nothing of the Supervisor's API: no token, no service links.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS,
            runAsGroup: RUN_AS,
            fsGroup: RUN_AS, // the PVC and the Secret's files readable by the group
            seccompProfile: { type: "RuntimeDefault" },
          },
          terminationGracePeriodSeconds: 30,
          containers: (["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const).map(
            (c) => container(spec, c, kubernetesVersion),
          ),
          volumes: [
            { name: "certs", secret: { secretName: hostedNames.secret(cluster), defaultMode: 0o440, items } },
            { name: "tmp", emptyDir: {} },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: "etcd-data" },
          spec: {
            accessModes: ["ReadWriteOnce"],
            ...(input.storageClass ? { storageClassName: input.storageClass } : {}),
            resources: { requests: { storage: input.etcdStorage ?? "1Gi" } },
          },
        },
      ],
    },
  };
  // The endpoint. It selects the StatefulSet's pod, not the control-plane VMs: in this runtime the
  // API server runs in the pod, and the VMs (which the Cluster's Machines still are) serve nothing
  // on 6443. The VIP is asked for as any LoadBalancer Service asks for an address — spec.loadBalancerIP,
  // as Kamaji's TenantControlPlane does — so the kubeconfig and the serving certificate stay right.
  // Pacific's Service load balancer gives it the VIP although the Cluster's VirtualMachineService
  // <cluster>-control-plane-service holds it, because both have the Cluster as controller
  // (vmservice/loadbalancer: sharesClusterVip); another load balancer (MetalLB, kube-vip) must be
  // told to allow the shared address.
  const service: V1Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, labels, ownerReferences },
    spec: {
      type: "LoadBalancer",
      loadBalancerIP: spec.vip,
      selector,
      ports: [{ name: "https", protocol: "TCP", port: GUEST_API_PORT, targetPort: "https" }],
    },
  };
  return { secret, statefulSet, service };
}
