// TanzuKubernetesReleases: the Supervisor syncs them from a content library; Pacific from its
// settings (chart value tanzuKubernetesReleases). Each listed version becomes a TKR (name: the
// version with '+' spelt '---'); every TKR, also one made by hand, reports Ready and Compatible.
import { parse as parseYaml } from "yaml";
import {
  type TanzuKubernetesRelease,
  TanzuKubernetesReleaseResource,
} from "../api/run/tanzukubernetesrelease.ts";
import type { KubeClient } from "../runtime/client.ts";
import { type Condition, setConditions } from "../runtime/conditions.ts";
import { anyChange, type Reconciler, type Request, type Result } from "../runtime/controller.ts";
import { isAlreadyExists } from "../runtime/errors.ts";
import type { Informer } from "../runtime/informer.ts";
import type { Manager } from "../runtime/manager.ts";
import { deepEqual } from "../runtime/patch.ts";
import { semver, tkrName } from "./desired.ts";

export const defaultReleases = [
  "v1.23.8+vmware.3-tkg.1",
  "v1.24.11+vmware.1-fips.1-tkg.1",
  "v1.25.7+vmware.3-fips.1-tkg.1",
  "v1.26.5+vmware.2-fips.1-tkg.1",
];

/** The settings' `tanzuKubernetesReleases.yaml`: a list of TKR versions. Throws naming a bad one. */
export function parseReleases(text: string): string[] {
  const doc: unknown = parseYaml(text);
  if (doc === null || doc === undefined) return [];
  if (!Array.isArray(doc))
    throw new Error("tanzuKubernetesReleases: expected a list of versions such as v1.23.8+vmware.3-tkg.1");
  return doc.map((v) => {
    if (typeof v !== "string" || !/^v[0-9]+\.[0-9]+\.[0-9]+\+[-.a-z0-9]+$/.test(v))
      throw new Error(
        `tanzuKubernetesReleases: ${JSON.stringify(v)} is not a TKR version such as v1.23.8+vmware.3-tkg.1`,
      );
    return v;
  });
}

export function desiredRelease(version: string): TanzuKubernetesRelease {
  const k8s = version.slice(0, version.lastIndexOf("-tkg") > 0 ? version.lastIndexOf("-tkg") : undefined);
  const kubernetes = k8s.replace(/-fips\.[0-9]+$/, "");
  const [maj, min] = semver(version) ?? [1, 0, 0];
  return {
    apiVersion: "run.tanzu.vmware.com/v1alpha3",
    kind: "TanzuKubernetesRelease",
    metadata: {
      name: tkrName(version),
      labels: { "app.kubernetes.io/managed-by": "pacific", [`v${maj}.${min}`]: "" },
    },
    spec: {
      version,
      kubernetes: { version: kubernetes, imageRepository: "projects.registry.vmware.com/tkg" },
      osImages: [{ name: `ob-photon-3-amd64-${tkrName(version)}` }],
    },
  };
}

export class ReleaseReconciler implements Reconciler {
  constructor(
    private readonly client: KubeClient,
    private readonly releases: Informer<TanzuKubernetesRelease>,
    private readonly versions: string[],
  ) {}

  async reconcile(req: Request): Promise<Result | undefined> {
    let tkr = this.releases.store.get(req.name);
    const version = this.versions.find((v) => tkrName(v) === req.name);
    if (!tkr && version) {
      try {
        tkr = await this.client.create<TanzuKubernetesRelease>(
          TanzuKubernetesReleaseResource,
          desiredRelease(version),
        );
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        return undefined;
      }
    }
    if (!tkr || tkr.metadata.deletionTimestamp) return undefined;
    const g = tkr.metadata.generation;
    const conditions = setConditions(tkr.status?.conditions as Condition[] | undefined, [
      { type: "Ready", status: "True", reason: "Ready", message: "", observedGeneration: g },
      { type: "Compatible", status: "True", reason: "Compatible", message: "", observedGeneration: g },
    ]);
    const status = JSON.parse(JSON.stringify({ observedGeneration: g, conditions }));
    if (!deepEqual(status, tkr.status))
      await this.client.patch(
        TanzuKubernetesReleaseResource,
        req.name,
        undefined,
        { status },
        { subresource: "status" },
      );
    return undefined;
  }
}

export function setupReleaseController(
  mgr: Manager,
  releases: Informer<TanzuKubernetesRelease>,
  versions: string[],
): void {
  const ctrl = mgr
    .controller("tanzukubernetesrelease")
    .for(TanzuKubernetesReleaseResource, { predicate: anyChange })
    .complete(new ReleaseReconciler(mgr.client, releases, versions));
  // The listed releases are made even when nothing about them changes: queue them once at start.
  mgr.addRunnable({
    start: () => {
      for (const v of versions) ctrl.enqueue({ name: tkrName(v) });
    },
    stop: () => undefined,
  });
}
