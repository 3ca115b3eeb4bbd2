// The registry controller: a project per Supervisor Namespace in the Registry Service.
// - image policy: the Namespace's allowed-registries annotation (the admission policy reads it);
// - status.registry: repositories and storage measured through the registry's API; over its quota
//   (spec.registry.storageQuota) the token service grants no push (an event says so);
// - the pull secret: a robot credential pulling from the namespace's own project, attached to the
//   default ServiceAccount, rotated before it expires;
// - deletion: the project's manifests deleted through the registry API, then the registry's own
//   garbage collection (gcCommand), before the SupervisorNamespace may go (finalizer).
// Without a registry configured only the image policy is kept.
import { execFile } from "node:child_process";
import type { V1Namespace, V1Secret, V1ServiceAccount } from "@kubernetes/client-node";
import { REGISTRY_FINALIZER } from "../api/contracts.ts";
import type { SupervisorNamespace, SupervisorNamespaceStatus } from "../api/vsphere/supervisornamespace.ts";
import { SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import type { KubeClient, KubeObject } from "../runtime/client.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isAlreadyExists } from "../runtime/errors.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { ensureFinalizer, removeFinalizer } from "../runtime/finalizers.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Logger } from "../runtime/log.ts";
import { hasFinalizer, isControlledBy } from "../runtime/owner.ts";
import { deepEqual } from "../runtime/patch.ts";
import { patchStatus } from "../runtime/patchhelper.ts";
import { Namespaces, type ResourceType, Secrets } from "../runtime/resource.ts";
import { formatBytes, parseQuantity } from "../shared/quantity.ts";
import type { RegistryApi } from "./api.ts";
import type { RegistryConfig } from "./config.ts";
import type { RegistryMetrics } from "./metrics.ts";
import { ALLOWED_REGISTRIES_ANNOTATION, allowedRegistries } from "./policy.ts";
import {
  EXPIRES_ANNOTATION,
  needsRotation,
  PULL_SECRET_LABEL,
  PULL_SECRET_NAME,
  pullSecret,
  rotateAt,
  withPullSecret,
} from "./pullsecret.ts";
import { ROBOT_PREFIX, type TokenSigner } from "./tokenservice.ts";
import { type ManifestInfo, repositoriesOf, storageOf } from "./usage.ts";

export const ServiceAccounts: ResourceType = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
};

export interface RegistryParts {
  config: RegistryConfig;
  api: RegistryApi;
  signer: TokenSigner;
  metrics: RegistryMetrics;
}

export interface RegistryCaches {
  svns: Informer<SupervisorNamespace>;
  namespaces: Informer<V1Namespace>;
  secrets?: Informer<V1Secret>;
  serviceAccounts?: Informer<V1ServiceAccount>;
}

type RegistryStatus = NonNullable<SupervisorNamespaceStatus["registry"]>;

export class RegistryReconciler implements Reconciler {
  private gcChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: KubeClient,
    private readonly c: RegistryCaches,
    private readonly events: EventRecorder,
    private readonly r: RegistryParts | undefined,
  ) {}

  async reconcile(req: Request, log: Logger): Promise<Result | undefined> {
    const svns = this.c.svns.store.get(req.name);
    if (!svns) {
      this.r?.metrics.forget(req.name);
      return undefined;
    }
    const name = req.name;
    const ns = this.c.namespaces.store.get(name);
    const nsOurs = ns && isControlledBy(ns.metadata, svns.metadata.uid) && !ns.metadata?.deletionTimestamp;

    if (svns.metadata.deletionTimestamp) {
      if (!hasFinalizer(svns.metadata, REGISTRY_FINALIZER)) return undefined;
      if (this.r) await this.removeProject(name, log);
      else
        log.warn(
          { project: name },
          "no registry configured: the project's images (if any) are left in the registry",
        );
      this.r?.metrics.forget(name);
      await removeFinalizer(this.client, SupervisorNamespaceResource, svns, REGISTRY_FINALIZER);
      return undefined;
    }

    if (nsOurs) await this.syncPolicy(svns, ns);
    if (!this.r) return undefined;
    const r = this.r;

    const held = await ensureFinalizer(this.client, SupervisorNamespaceResource, svns, REGISTRY_FINALIZER);
    if (!hasFinalizer(held.metadata, REGISTRY_FINALIZER)) return undefined; // gone meanwhile

    const usage = await this.measure(name);
    r.metrics.measured(name, usage.bytes, usage.repositories);
    const quota = svns.spec.registry?.storageQuota;
    const quotaBytes = quota === undefined ? undefined : parseQuantity(quota);
    const exceeded = quotaBytes !== undefined && usage.bytes >= quotaBytes;
    if (exceeded && !svns.status?.registry?.quotaExceeded)
      this.events.event(
        svns,
        "Warning",
        "RegistryQuotaExceeded",
        "Measure",
        `project ${name} uses ${formatBytes(usage.bytes)} of its ${quota} storage quota: pushes are refused until images are deleted or the quota is raised`,
      );

    let next = Date.now() + r.config.usageIntervalMs;
    const status: RegistryStatus = {
      project: name,
      url: `${r.config.host}/${name}`,
      repositories: usage.repositories,
      storageUsed: formatBytes(usage.bytes),
      ...(quota !== undefined ? { storageQuota: String(quota) } : {}),
      quotaExceeded: exceeded,
    };
    if (nsOurs) {
      const expires = await this.syncPullSecret(svns, log);
      status.pullSecret = PULL_SECRET_NAME;
      status.credentialExpiresAt = new Date(expires).toISOString();
      next = Math.min(next, rotateAt(expires, r.config.robotTtlMs));
      await this.attachToDefaultServiceAccount(name);
    }
    // Only status.registry is this controller's; the rest of the status is the SupervisorNamespace controller's.
    if (!deepEqual(status, held.status?.registry))
      await patchStatus(this.client, SupervisorNamespaceResource, held, { ...held.status, registry: status });
    return { requeueAfter: Math.max(1_000, next - Date.now()) };
  }

  /** The Namespace's allowed-registries annotation, as the admin's list and the own project say. */
  private async syncPolicy(svns: SupervisorNamespace, ns: V1Namespace): Promise<void> {
    const want = allowedRegistries(svns, this.r?.config.host);
    const cur = ns.metadata?.annotations?.[ALLOWED_REGISTRIES_ANNOTATION];
    if (cur === want) return;
    await this.client.patch(Namespaces, svns.metadata.name!, undefined, {
      metadata: { annotations: { [ALLOWED_REGISTRIES_ANNOTATION]: want ?? null } },
    });
  }

  /** Repositories with a tag, and the bytes of their distinct blobs. */
  private async measure(project: string): Promise<{ repositories: number; bytes: number }> {
    const api = this.r!.api;
    const repos = repositoriesOf(await api.repositories(), project);
    const manifests: ManifestInfo[] = [];
    let tagged = 0;
    for (const repo of repos) {
      const tags = await api.tags(repo);
      if (tags.length) tagged++;
      for (const tag of tags) {
        const m = await api.manifest(repo, tag);
        if (!m) continue;
        manifests.push(m);
        for (const child of m.manifest.manifests ?? []) {
          const cm = await api.manifest(repo, child.digest);
          if (cm) manifests.push(cm);
        }
      }
    }
    return { repositories: tagged, bytes: storageOf(manifests) };
  }

  /** Writes the pull secret when it is missing or due for rotation; returns when its credential expires. */
  private async syncPullSecret(svns: SupervisorNamespace, log: Logger): Promise<number> {
    const r = this.r!;
    const name = svns.metadata.name!;
    const cur = this.c.secrets?.store.get(`${name}/${PULL_SECRET_NAME}`);
    const now = new Date();
    if (!needsRotation(cur, r.config.host, svns.metadata.uid!, r.config.robotTtlMs, now))
      return Date.parse(cur!.metadata!.annotations![EXPIRES_ANNOTATION]!);
    const expiresAt = new Date(now.getTime() + r.config.robotTtlMs);
    const user = `${ROBOT_PREFIX}${name}`;
    const want = pullSecret(
      name,
      r.config.host,
      user,
      r.signer.robotCredential(name, svns.metadata.uid!, expiresAt),
      expiresAt,
      svns.metadata.uid!,
    );
    if (!cur) {
      await this.client.create(Secrets, want).catch(async (e) => {
        // Made by a hand (or a reconcile) the cache has not seen yet: overwrite it.
        if (!isAlreadyExists(e)) throw e;
        await this.client.patch(Secrets, PULL_SECRET_NAME, name, {
          metadata: want.metadata,
          type: want.type,
          data: want.data,
        });
      });
    } else {
      await this.client.patch(Secrets, PULL_SECRET_NAME, name, {
        metadata: { labels: want.metadata!.labels, annotations: want.metadata!.annotations },
        data: want.data,
      });
    }
    log.info(
      { namespace: name, expiresAt: expiresAt.toISOString() },
      cur ? "rotated the registry pull secret" : "wrote the registry pull secret",
    );
    return expiresAt.getTime();
  }

  private async attachToDefaultServiceAccount(namespace: string): Promise<void> {
    const sa = this.c.serviceAccounts?.store.get(`${namespace}/default`);
    if (!sa) return; // the ServiceAccount controller makes it; its event brings us back
    const list = withPullSecret(sa);
    if (!list) return;
    await this.client.patch(ServiceAccounts, "default", namespace, {
      metadata: { resourceVersion: sa.metadata?.resourceVersion },
      imagePullSecrets: list,
    });
  }

  /** Deletes every manifest of the project, then runs the registry's garbage collection. */
  private async removeProject(project: string, log: Logger): Promise<void> {
    const api = this.r!.api;
    const repos = repositoriesOf(await api.repositories(), project);
    let deleted = 0;
    for (const repo of repos)
      for (const tag of await api.tags(repo)) {
        const m = await api.manifest(repo, tag);
        if (!m) continue;
        await api.deleteManifest(repo, m.digest);
        deleted++;
      }
    log.info({ project, repositories: repos.length, manifests: deleted }, "deleted the project's manifests");
    const gc = this.r!.config.gcCommand;
    // A project that never had a repository left nothing to collect.
    if (gc && repos.length > 0) await this.garbageCollect(gc, project, log);
  }

  /** One garbage collection at a time (the registry's tool is not made to run concurrently). */
  private garbageCollect(cmd: string[], project: string, log: Logger): Promise<void> {
    const run = () =>
      new Promise<void>((resolve, reject) => {
        const started = Date.now();
        execFile(cmd[0]!, [...cmd.slice(1), project], { timeout: 300_000 }, (err, _out, stderr) => {
          if (err) reject(new Error(`garbage collection failed: ${stderr || err.message}`));
          else {
            log.info({ project, ms: Date.now() - started }, "registry garbage collection done");
            resolve();
          }
        });
      });
    const p = this.gcChain.then(run);
    this.gcChain = p.catch(() => undefined);
    return p;
  }
}

/** Secrets and ServiceAccounts map to the Supervisor Namespace of their namespace. */
export const byNamespaceName = (o: KubeObject): Request[] =>
  o.metadata?.namespace ? [{ name: o.metadata.namespace }] : [];

/** By name: RBAC lets the manager list and watch only Secrets of this name (resourceNames + a
 *  metadata.name field selector), never every Secret in the cluster. */
export const pullSecretInformer = {
  fieldSelector: `metadata.name=${PULL_SECRET_NAME}`,
  labelSelector: `${PULL_SECRET_LABEL}=true`,
};
export const defaultServiceAccountInformer = { fieldSelector: "metadata.name=default" };
export { anyChange };
