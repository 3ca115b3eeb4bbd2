// Wires the web UI into the manager: the live inventory over the shared informers (the caches the
// controllers keep; only the Warning events are an informer of the UI's own), TokenReview and
// SubjectAccessReview through the manager's client, and the HTTP routes under /ui/.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { EventsV1Event } from "@kubernetes/client-node";
import { MachineResource } from "../api/cluster/machine.ts";
import { TanzuKubernetesClusterResource } from "../api/run/tanzukubernetescluster.ts";
import { VirtualMachineResource } from "../api/vmoperator/virtualmachine.ts";
import { VirtualMachineServiceResource } from "../api/vmoperator/virtualmachineservice.ts";
import { type SupervisorNamespace, SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import { VSpherePodResource } from "../api/vsphere/vspherepod.ts";
import type { PacificConfig } from "../config.ts";
import type { Manager } from "../runtime/manager.ts";
import { Events } from "../runtime/resource.ts";
import type { Inventory } from "../shared/placement/inventory.ts";
import { KubeAuth } from "./auth.ts";
import { LiveInventory } from "./live.ts";
import { PREFIX, UiServer } from "./server.ts";

/** Warning events only: the UI shows no others, and Normal events are most of the volume. */
export const WARNING_EVENTS = { fieldSelector: "type=Warning" };

/** The built page (hack/build-ui.mjs writes dist/ui-assets), from dist/ or from the sources. */
export function defaultAssetsDir(): string {
  const built = fileURLToPath(new URL("../../ui-assets/", import.meta.url));
  return existsSync(built) ? built : fileURLToPath(new URL("../../dist/ui-assets/", import.meta.url));
}

export function setupUi(
  mgr: Manager,
  inv: Inventory,
  config: PacificConfig,
  assetsDir = defaultAssetsDir(),
): { live: LiveInventory; server: UiServer } {
  const { apis } = config;
  const namespaces = mgr.informer<SupervisorNamespace>(SupervisorNamespaceResource);
  const live = new LiveInventory({
    hosts: inv.hosts,
    pods: inv.pods,
    vspherePods: mgr.informer(VSpherePodResource),
    namespaces,
    events: mgr.informer<EventsV1Event>(Events, WARNING_EVENTS),
    ...(apis.vmOperator
      ? { vms: mgr.informer(VirtualMachineResource), vmServices: mgr.informer(VirtualMachineServiceResource) }
      : {}),
    ...(apis.tkc ? { tkcs: mgr.informer(TanzuKubernetesClusterResource) } : {}),
    ...(apis.clusterAPI ? { machines: mgr.informer(MachineResource) } : {}),
    reservedOn: (host) => inv.reservedOn(host),
  });
  const auth = new KubeAuth(mgr.client);
  const server = new UiServer({
    live,
    authn: auth,
    authz: auth,
    kubeConfig: mgr.client.kubeConfig,
    // Events of cluster-scoped objects (ESXiHosts) are recorded in "default".
    namespaces: () => ["default", ...namespaces.store.list().flatMap((n) => n.metadata.name ?? [])],
    assetsDir,
    log: mgr.log.child({ component: "ui" }),
  });
  mgr.mount(PREFIX, server.handle);
  return { live, server };
}
