// What only the cluster's state can judge, before anything is made: the release exists, the VM
// classes are in the namespace, the storage classes are bound to it. A problem becomes a failed
// phase, a False Ready with the reason, and a Warning event.
import type { TanzuKubernetesCluster } from "../../api/run/tanzukubernetescluster.ts";
import { storageAllowed } from "../../shared/storage.ts";
import { releaseOf } from "./desired.ts";

export interface Problem {
  reason: string;
  message: string;
}

export function releaseNotFound(tkc: TanzuKubernetesCluster): Problem {
  return {
    reason: "TKRNotFound",
    message: `TanzuKubernetesRelease ${releaseOf(tkc)} does not exist (kubectl get tkr)`,
  };
}

/** The first VM class or storage class the cluster needs and its namespace lacks. */
export function validate(
  tkc: TanzuKubernetesCluster,
  hasClass: (vmClass: string) => boolean,
  nsAnnotations: Record<string, string> | undefined,
): Problem | undefined {
  const ns = tkc.metadata.namespace ?? "";
  const topo = tkc.spec.topology;
  const wanted = [
    {
      what: "control plane",
      vmClass: topo.controlPlane.vmClass,
      storageClass: topo.controlPlane.storageClass,
    },
    ...(topo.nodePools ?? []).map((p) => ({
      what: `node pool ${p.name}`,
      vmClass: p.vmClass,
      storageClass: p.storageClass,
    })),
  ];
  for (const w of wanted)
    if (!hasClass(w.vmClass))
      return {
        reason: "VMClassNotFound",
        message: `VirtualMachineClass ${w.vmClass} (${w.what}) is not available in namespace ${ns}: add it to the Supervisor Namespace's vmClasses`,
      };
  for (const w of wanted)
    if (!storageAllowed(w.storageClass, nsAnnotations))
      return {
        reason: "StorageClassNotFound",
        message: `storage class ${w.storageClass} (${w.what}) is not bound to namespace ${ns}: a StorageClassBinding grants it`,
      };
  return undefined;
}
