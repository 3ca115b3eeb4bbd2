// The guest-cluster controller's reconciler (runtimes `local` and `pods`): when the first
// control-plane Machine's VM of a Cluster is powered on, it makes the cluster's PKI (Cluster API's
// -ca, -etcd, -proxy, -sa Secrets, made once and reused after a restart), has the runtime run the
// guest control plane (local: starts or adopts its processes; pods: applies its StatefulSet, Secret
// and Service), records what the guest's /readyz answers on the KubeadmControlPlane (whose
// status, and the TKC's, follow it), and once it answers writes the real admin kubeconfig into
// <cluster>-kubeconfig and applies the add-ons into the guest's kube-system. Every 10 s it ensures
// again, which restarts a process that died and re-applies a deleted add-on. Deleting the Cluster
// stops the processes and removes their files before the finalizer goes (pods: the garbage
// collector removes the objects the Cluster owns).
import type { V1Secret } from "@kubernetes/client-node";
import { parse } from "yaml";
import type { Cluster } from "../api/cluster/cluster.ts";
import { ClusterResource } from "../api/cluster/cluster.ts";
import type { Machine } from "../api/cluster/machine.ts";
import { CapiLabels, GuestAnnotations } from "../api/contracts.ts";
import {
  type KubeadmControlPlane,
  KubeadmControlPlaneResource,
} from "../api/controlplane/kubeadmcontrolplane.ts";
import type { TanzuKubernetesCluster } from "../api/run/tanzukubernetescluster.ts";
import type { Client } from "../runtime/client.ts";
import type { Reconciler, Request, Result } from "../runtime/controller.ts";
import { ignoreAlreadyExists, ignoreNotFound } from "../runtime/errors.ts";
import { ensureFinalizer, removeFinalizer } from "../runtime/finalizers.ts";
import type { Logger } from "../runtime/log.ts";
import { Secrets } from "../runtime/resource.ts";
import type { Store } from "../runtime/store.ts";
import { ADDON_FIELD_MANAGER, addonObjects, cniOf, objectPath } from "./addons.ts";
import { GUEST_API_PORT, type GuestRuntime, type GuestSpec } from "./controlplane.ts";
import { controlPlaneUp, guestNetwork } from "./decide.ts";
import { assertLoopback } from "./local.ts";
import { type ClusterPki, newClusterPki, signLeaf } from "./pki.ts";
import {
  kubeconfigSecret,
  pkiFromSecrets,
  pkiSecrets,
  renderKubeconfig,
  type SecretOwner,
  secretNames,
} from "./secrets.ts";

export const GUEST_FINALIZER = "guestcluster.pacific.dev/local-control-plane";
const RESYNC_MS = 10_000;

export class GuestClusterReconciler implements Reconciler {
  /** Per guest, the add-ons this process last applied (their JSON): a restarted manager applies them once. */
  private readonly addonsApplied = new Map<string, string>();

  constructor(
    private readonly client: Client,
    private readonly clusters: Store<Cluster>,
    private readonly machines: Store<Machine>,
    private readonly secrets: Store<V1Secret>,
    private readonly kcps: Store<KubeadmControlPlane>,
    private readonly tkcs: Store<TanzuKubernetesCluster>,
    private readonly runtime: GuestRuntime,
    private readonly log: Logger,
  ) {}

  async reconcile(req: Request): Promise<Result | undefined> {
    const found = this.clusters.get(req.namespace, req.name);
    if (!found) return undefined;
    const ns = found.metadata.namespace ?? "";
    const name = found.metadata.name ?? "";
    if (found.metadata.deletionTimestamp) {
      await this.runtime.stop(ns, name);
      await removeFinalizer(this.client, ClusterResource, found, GUEST_FINALIZER);
      return undefined;
    }
    const net = guestNetwork(found);
    if (!net || !controlPlaneUp(this.machinesOf(ns, name))) return undefined;
    if (this.runtime.loopbackOnly) assertLoopback(net.vip); // never bind or dial anything but loopback
    const cluster = await ensureFinalizer(this.client, ClusterResource, found, GUEST_FINALIZER);
    const owner: SecretOwner = {
      apiVersion: cluster.apiVersion ?? "cluster.x-k8s.io/v1beta1",
      kind: "Cluster",
      name,
      uid: cluster.metadata.uid ?? "",
    };
    const pki = await this.ensurePki(ns, name, owner);
    const spec: GuestSpec = {
      namespace: ns,
      name,
      ...net,
      pki,
      owner,
      kubernetesVersion: this.kubernetesVersionOf(cluster),
      storageClass: this.storageClassOf(cluster),
    };
    const { started, pending } = await this.runtime.ensure(spec);
    if (started.length)
      this.log.info({ cluster: `${ns}/${name}`, started }, "guest control plane processes started");
    const ready = await this.runtime.ready(spec);
    const version = await this.recordProbe(cluster, ready, spec);
    if (pending.length || !ready) return { requeueAfter: 500 };
    const server = `https://${net.vip}:${GUEST_API_PORT}`;
    await this.ensureKubeconfig(ns, name, owner, pki, server);
    await this.ensureAddons(cluster, spec, server, version);
    return { requeueAfter: RESYNC_MS };
  }

  /**
   * The add-ons (addons.ts) in the guest, by server-side apply with ADDON_FIELD_MANAGER: all of them
   * when what they should be changed (or this manager has not applied them yet), else only those
   * missing — so a deleted one comes back within a resync.
   */
  private async ensureAddons(
    cluster: Cluster,
    spec: GuestSpec,
    server: string,
    version: string | undefined,
  ): Promise<void> {
    if (!version) return; // the tag of kube-proxy's image; the guest answered, so next time
    const tkc = this.tkcOf(cluster);
    const objects = addonObjects({
      cni: cniOf(tkc?.spec.settings?.network?.cni?.name),
      defaultStorageClass: tkc?.spec.settings?.storage?.defaultClass,
      serviceCidr: spec.serviceCidr,
      podCidr: spec.podCidr,
      serviceDomain: cluster.spec.clusterNetwork?.serviceDomain ?? "cluster.local",
      apiServer: server,
      kubernetesVersion: version,
    });
    const key = `${spec.namespace}/${spec.name}`;
    const hash = JSON.stringify(objects);
    const all = this.addonsApplied.get(key) !== hash;
    const reapplied: string[] = [];
    for (const o of objects) {
      const path = objectPath(o);
      if (!all && (await this.runtime.exists(spec, path)) !== false) continue;
      await this.runtime.apply(spec, path, o, ADDON_FIELD_MANAGER);
      if (!all) reapplied.push(`${o.kind}/${o.metadata.name}`);
    }
    this.addonsApplied.set(key, hash);
    if (all) this.log.info({ cluster: key, objects: objects.length }, "guest add-ons applied");
    if (reapplied.length) this.log.info({ cluster: key, reapplied }, "guest add-ons re-applied");
  }

  /** The Kubernetes version the Cluster's control plane should run: its topology's, else its KCP's. */
  private kubernetesVersionOf(cluster: Cluster): string | undefined {
    const ref = cluster.spec.controlPlaneRef;
    const kcp =
      ref?.kind === "KubeadmControlPlane" ? this.kcps.get(cluster.metadata.namespace, ref.name) : undefined;
    return cluster.spec.topology?.version ?? kcp?.spec.version;
  }

  /** The class of the control plane's volumes: the TKC's, else the topology's `storageClass` variable. */
  private storageClassOf(cluster: Cluster): string | undefined {
    const v: unknown = cluster.spec.topology?.variables?.find((x) => x.name === "storageClass")?.value;
    return (
      this.tkcOf(cluster)?.spec.topology.controlPlane.storageClass ??
      (typeof v === "string" && v ? v : undefined)
    );
  }

  /** The TKC a Cluster was made from (its controller owner), if any. */
  private tkcOf(cluster: Cluster): TanzuKubernetesCluster | undefined {
    const ref = cluster.metadata.ownerReferences?.find(
      (r) => r.controller && r.kind === "TanzuKubernetesCluster",
    );
    return ref ? this.tkcs.get(cluster.metadata.namespace, ref.name) : undefined;
  }

  /**
   * What the guest API server answered, on the Cluster's KubeadmControlPlane (GuestAnnotations):
   * its status (initialized, ready, Available) and the TKC's GuestControlPlaneReady follow it.
   * Written only when it changes; the version is asked once per answering guest.
   */
  private async recordProbe(cluster: Cluster, ready: boolean, spec: GuestSpec): Promise<string | undefined> {
    const ref = cluster.spec.controlPlaneRef;
    if (ref?.kind !== "KubeadmControlPlane" || !ref.name) return undefined;
    const ns = cluster.metadata.namespace ?? "";
    const kcp = this.kcps.get(ns, ref.name);
    if (!kcp) return undefined;
    const have = kcp.metadata.annotations ?? {};
    const want: Record<string, string> = { [GuestAnnotations.apiServerReady]: ready ? "True" : "False" };
    const known = have[GuestAnnotations.apiServerVersion];
    if (ready && !known) {
      const v = await this.runtime.version(spec);
      if (v) want[GuestAnnotations.apiServerVersion] = v;
    }
    if (Object.entries(want).some(([k, v]) => have[k] !== v)) {
      await this.client
        .patch(KubeadmControlPlaneResource, ref.name, ns, { metadata: { annotations: want } })
        .catch(ignoreNotFound);
      this.log.info({ cluster: `${ns}/${cluster.metadata.name}`, ...want }, "guest API server probed");
    }
    return want[GuestAnnotations.apiServerVersion] ?? known;
  }

  private machinesOf(ns: string, cluster: string): Machine[] {
    return this.machines
      .list()
      .filter((m) => m.metadata.namespace === ns && m.metadata.labels?.[CapiLabels.clusterName] === cluster);
  }

  /**
   * The PKI from its Secrets; made and stored when none of them exists. Some but not all present
   * means our own creates are not in the cache yet (or somebody deleted one): retry, never mint a
   * second CA over a half-kept one. Needs only list/watch/create on Secrets.
   */
  private async ensurePki(ns: string, cluster: string, owner: SecretOwner): Promise<ClusterPki> {
    const cached = pkiFromSecrets(cluster, (n) => this.secrets.get(ns, n));
    if (cached) return cached;
    // The four parts are independent (three CAs and the service-account key pair), so a set that a
    // killed manager left half made is completed: only the missing Secrets are created, and a part
    // that exists is never made a second time. A create that loses a race with another manager
    // (AlreadyExists) fails this pass; the next one reads the winner's from the cache.
    const missing = pkiSecrets(ns, cluster, owner, await newClusterPki()).filter(
      (s) => !this.secrets.get(ns, s.metadata?.name ?? ""),
    );
    await Promise.all(missing.map((s) => this.client.create(Secrets, s)));
    const made = new Map(missing.map((s) => [s.metadata?.name, s]));
    const pki = pkiFromSecrets(cluster, (n) => this.secrets.get(ns, n) ?? made.get(n));
    if (!pki) throw new Error(`${ns}/${cluster}: a PKI Secret has no tls.crt or tls.key`);
    return pki;
  }

  /** <cluster>-kubeconfig with the guest's CA and an admin certificate; replaced when it trusts another CA. */
  private async ensureKubeconfig(
    ns: string,
    cluster: string,
    owner: SecretOwner,
    pki: ClusterPki,
    server: string,
  ): Promise<void> {
    const current = this.secrets.get(ns, secretNames.kubeconfig(cluster));
    if (current && kubeconfigTrusts(current, pki.ca.cert, server)) return;
    const admin = await signLeaf(pki.ca, {
      commonName: "kubernetes-admin",
      organizations: ["system:masters"],
      usage: "client",
    });
    const want = kubeconfigSecret(
      ns,
      cluster,
      owner,
      renderKubeconfig(cluster, server, pki.ca.cert, `${cluster}-admin`, admin),
    );
    if (!current) {
      await this.client.create(Secrets, want).catch(ignoreAlreadyExists);
      return;
    }
    await this.client.patch(Secrets, secretNames.kubeconfig(cluster), ns, { data: want.data });
  }
}

/** True when the Secret's kubeconfig points at `server` and embeds `caCert` (no insecure flag). */
export function kubeconfigTrusts(s: V1Secret, caCert: string, server: string): boolean {
  try {
    const kc = parse(Buffer.from(s.data?.value ?? "", "base64").toString("utf8"));
    const c = kc?.clusters?.[0]?.cluster;
    return (
      c?.server === server &&
      Buffer.from(c?.["certificate-authority-data"] ?? "", "base64").toString("utf8") === caCert
    );
  } catch {
    return false;
  }
}
