// The guest-cluster controller's wiring (runtimes `local` and `pods`): Clusters, the Machines that
// tell when a control plane's VM is powered on, and Cluster API's Secrets (the same informer as the
// TKC controller's). Local: where the binaries and the guests' state live comes from the manager's
// environment, which hack/manager.sh sets for a local cluster. Pods: the manager's client applies
// the hosted control plane's objects (podsruntime.ts).
import type { V1Secret } from "@kubernetes/client-node";
import { ClusterResource } from "../api/cluster/cluster.ts";
import { MachineResource } from "../api/cluster/machine.ts";
import { CapiLabels } from "../api/contracts.ts";
import { KubeadmControlPlaneResource } from "../api/controlplane/kubeadmcontrolplane.ts";
import { TanzuKubernetesClusterResource } from "../api/run/tanzukubernetescluster.ts";
import { anyChange } from "../runtime/controller.ts";
import type { Manager } from "../runtime/manager.ts";
import { Secrets } from "../runtime/resource.ts";
import type { Store } from "../runtime/store.ts";
import { clusterOf } from "../shared/capi.ts";
import type { GuestRuntime } from "./controlplane.ts";
import { LocalGuestRuntime } from "./local.ts";
import { PodsGuestRuntime } from "./podsruntime.ts";
import { GuestClusterReconciler } from "./reconciler.ts";

export interface LocalGuestEnv {
  PACIFIC_GUEST_STATE_DIR?: string;
  PACIFIC_KUBERNETES_BIN?: string;
  PACIFIC_ETCD_BIN?: string;
}

export function localRuntimeFromEnv(env: LocalGuestEnv = process.env): LocalGuestRuntime {
  const {
    PACIFIC_GUEST_STATE_DIR: stateDir,
    PACIFIC_KUBERNETES_BIN: kubernetesBin,
    PACIFIC_ETCD_BIN: etcdBin,
  } = env;
  if (!stateDir || !kubernetesBin || !etcdBin)
    throw new Error(
      "guestClustersRuntime=local needs PACIFIC_GUEST_STATE_DIR, PACIFIC_KUBERNETES_BIN and PACIFIC_ETCD_BIN (hack/manager.sh sets them)",
    );
  return new LocalGuestRuntime({ stateDir, kubernetesBin, etcdBin });
}

/** The runtime of settings.guestClustersRuntime (local or pods), given the Secrets' cache. */
export type GuestRuntimeFactory = (mgr: Manager, secrets: Store<V1Secret>) => GuestRuntime;

export const localRuntime: GuestRuntimeFactory = () => localRuntimeFromEnv();
export const podsRuntime: GuestRuntimeFactory = (mgr, secrets) => new PodsGuestRuntime(mgr.client, secrets);

export function setupGuestClusterController(mgr: Manager, makeRuntime: GuestRuntimeFactory): void {
  const clusters = mgr.informer(ClusterResource);
  const machines = mgr.informer(MachineResource);
  const secrets = mgr.informer(Secrets, { labelSelector: CapiLabels.clusterName });
  const kcps = mgr.informer(KubeadmControlPlaneResource);
  const tkcs = mgr.informer(TanzuKubernetesClusterResource);
  mgr
    .controller("guestcluster")
    .for(ClusterResource, { predicate: anyChange })
    .watches(MachineResource, clusterOf, { predicate: anyChange })
    .complete(
      new GuestClusterReconciler(
        mgr.client,
        clusters.store,
        machines.store,
        secrets.store,
        kcps.store,
        tkcs.store,
        makeRuntime(mgr, secrets.store),
        mgr.log.child({ controller: "guestcluster" }),
      ),
    );
}
