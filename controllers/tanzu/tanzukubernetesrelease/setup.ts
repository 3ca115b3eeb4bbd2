// The TanzuKubernetesRelease controller's wiring. The listed releases are made even when nothing
// about them changes: they are queued once at start.
import { TanzuKubernetesReleaseResource } from "../../api/run/tanzukubernetesrelease.ts";
import { anyChange } from "../../runtime/controller.ts";
import type { Manager } from "../../runtime/manager.ts";
import { tkrName } from "../../shared/tkr.ts";
import { ReleaseReconciler } from "./reconciler.ts";

export function setupTanzuKubernetesReleaseController(mgr: Manager, versions: string[]): void {
  const releases = mgr.informer(TanzuKubernetesReleaseResource);
  const ctrl = mgr
    .controller("tanzukubernetesrelease")
    .for(TanzuKubernetesReleaseResource, { predicate: anyChange })
    .complete(new ReleaseReconciler(mgr.client, releases.store, versions));
  mgr.addRunnable({
    start: () => {
      for (const v of versions) ctrl.enqueue({ name: tkrName(v) });
    },
    stop: () => undefined,
  });
}
