// The TanzuKubernetesRelease reconciler: makes each listed release that is missing; every TKR, also
// one made by hand, reports Ready and Compatible (one status write).
import {
  type TanzuKubernetesRelease,
  TanzuKubernetesReleaseResource,
} from "../../api/run/tanzukubernetesrelease.ts";
import { markTrue } from "../../runtime/capiconditions.ts"; // TKR conditions are Cluster API v1beta1's
import type { Client } from "../../runtime/client.ts";
import type { Reconciler, Request, Result } from "../../runtime/controller.ts";
import { isAlreadyExists } from "../../runtime/errors.ts";
import { PatchHelper } from "../../runtime/patchhelper.ts";
import type { Store } from "../../runtime/store.ts";
import { tkrName } from "../../shared/tkr.ts";
import { desiredRelease } from "./releases.ts";

export class ReleaseReconciler implements Reconciler {
  constructor(
    private readonly client: Client,
    private readonly releases: Store<TanzuKubernetesRelease>,
    private readonly versions: string[],
  ) {}

  async reconcile(req: Request): Promise<Result | undefined> {
    const tkr = this.releases.get(req.name) ?? (await this.createListed(req.name));
    if (!tkr || tkr.metadata.deletionTimestamp) return undefined;
    const h = new PatchHelper(this.client, TanzuKubernetesReleaseResource, tkr);
    h.obj.status = { ...h.obj.status, observedGeneration: tkr.metadata.generation };
    markTrue(h.obj, "Ready", "Ready");
    markTrue(h.obj, "Compatible", "Compatible");
    await h.patch();
    return undefined;
  }

  /** The listed release of that name, made now; undefined when not listed or made meanwhile (its event follows). */
  private async createListed(name: string): Promise<TanzuKubernetesRelease | undefined> {
    const version = this.versions.find((v) => tkrName(v) === name);
    if (!version) return undefined;
    try {
      return await this.client.create(TanzuKubernetesReleaseResource, desiredRelease(version));
    } catch (e) {
      if (isAlreadyExists(e)) return undefined;
      throw e;
    }
  }
}
