// Wiring of the ClusterClass publisher: SupervisorNamespaces (and their Namespaces) wake it for the
// classes of every namespace; Pacific's ClusterClasses wake it when edited or deleted; the public
// namespace's appearance wakes it for the public classes.
import { ClusterClassResource } from "../api/cluster/clusterclass.ts";
import { namespaceClasses, publicClasses } from "../api/clusterclasses.ts";
import { MANAGED_BY_SELECTOR } from "../api/contracts.ts";
import { SupervisorNamespaceResource } from "../api/vsphere/supervisornamespace.ts";
import type { KubeObject } from "../runtime/client.ts";
import { anyChange } from "../runtime/controller.ts";
import type { Manager } from "../runtime/manager.ts";
import { Namespaces } from "../runtime/resource.ts";
import { ClusterClassReconciler, type Shipped } from "./reconciler.ts";

export function setupClusterClassController(
  mgr: Manager,
  shipped: Shipped = { namespaceClasses, publicClasses },
): void {
  const managed = { labelSelector: MANAGED_BY_SELECTOR };
  const classes = mgr.informer(ClusterClassResource, managed);
  const isPublic = (ns: string | undefined, name: string | undefined) =>
    shipped.publicClasses.some((c) => c.metadata.namespace === ns && c.metadata.name === name);
  // A public class edited or deleted: its own request. A namespace's class: its SupervisorNamespace (owns).
  const publicRequest = (o: KubeObject) =>
    isPublic(o.metadata?.namespace, o.metadata?.name)
      ? [{ namespace: o.metadata?.namespace, name: o.metadata?.name ?? "" }]
      : [];
  // The public namespace (made by the chart) appearing: every public class in it.
  const publicNamespace = (o: KubeObject) =>
    shipped.publicClasses
      .filter((c) => c.metadata.namespace === o.metadata?.name)
      .map((c) => ({ namespace: c.metadata.namespace, name: c.metadata.name ?? "" }));
  mgr
    .controller("clusterclass")
    .for(SupervisorNamespaceResource)
    .owns(Namespaces)
    .owns(ClusterClassResource, { predicate: anyChange, informer: managed })
    .watches(ClusterClassResource, publicRequest, { predicate: anyChange, informer: managed })
    .watches(Namespaces, publicNamespace)
    .complete(
      new ClusterClassReconciler(
        mgr.client,
        {
          svns: mgr.informer(SupervisorNamespaceResource).store,
          namespaces: mgr.informer(Namespaces).store,
          classes: classes.store,
        },
        shipped,
      ),
    );
}
