// Letting a terminating Namespace go. Pacific's finalizer (WORKLOADS_FINALIZER) holds a Namespace it
// made until no object of a Pacific kind is left in it: kube-controller-manager's namespace
// controller empties a namespace of every kind discovery lists, but right after a kube-apiserver
// restart discovery may not list the custom resources yet, and the namespace went with VSpherePods
// left behind in it (the chaos suite's long run found them, alive again when a namespace of the
// same name came back).
import type { V1Namespace } from "@kubernetes/client-node";
import { WORKLOADS_FINALIZER } from "../api/contracts.ts";
import type { Client, KubeObject } from "../runtime/client.ts";
import { ignoreNotFound } from "../runtime/errors.ts";
import { removeFinalizer } from "../runtime/finalizers.ts";
import type { Logger } from "../runtime/log.ts";
import { hasFinalizer } from "../runtime/owner.ts";
import { Namespaces, type ResourceType } from "../runtime/resource.ts";

/** The namespace controller's own (spec) finalizer: present until it has emptied the namespace. */
const KUBERNETES_FINALIZER = "kubernetes";

interface Left {
  rt: ResourceType;
  o: KubeObject;
}

/** The objects of the Pacific kinds `workloads` still in namespace `name` (a live list, not the cache). */
async function workloadsLeft(client: Client, workloads: ResourceType[], name: string): Promise<Left[]> {
  const lists = await Promise.all(
    workloads.map(async (rt) => (await client.list(rt, { namespace: name })).items.map((o) => ({ rt, o }))),
  );
  return lists.flat();
}

/**
 * Removes the finalizer once nothing of `workloads` is left in `ns`. The namespace controller empties
 * it first; what is still there after it has finished (its spec finalizer is gone) it missed, and is
 * deleted here (the next visit lets the namespace go).
 */
export async function releaseNamespace(
  client: Client,
  workloads: ResourceType[],
  ns: V1Namespace,
  log: Logger,
): Promise<void> {
  const name = ns.metadata?.name;
  if (!name || !hasFinalizer(ns.metadata, WORKLOADS_FINALIZER)) return;
  if (ns.spec?.finalizers?.includes(KUBERNETES_FINALIZER)) return;
  const left = await workloadsLeft(client, workloads, name);
  if (left.length === 0) {
    await removeFinalizer(client, Namespaces, ns, WORKLOADS_FINALIZER);
    return;
  }
  for (const { rt, o } of left)
    if (!o.metadata?.deletionTimestamp)
      await client
        .delete(rt, o.metadata?.name ?? "", name, { propagationPolicy: "Background" })
        .catch(ignoreNotFound);
  log.warn(
    { kind: "Namespace", name, left: left.map(({ rt, o }) => `${rt.kind}/${o.metadata?.name}`).slice(0, 10) },
    "the namespace controller left Pacific objects behind; deleting them before the namespace goes",
  );
}
