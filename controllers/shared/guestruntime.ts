// What serves a guest cluster's control plane (the chart value guestClusters.runtime,
// docs/guest-clusters.md): the KubeadmControlPlane, Cluster and TKC controllers read it to know
// whether there is a guest API server whose answers their status follows.
export type GuestRuntimeKind = "local" | "pods" | "none";

/** Whether the runtime serves a guest API server whose /readyz the status follows (local, pods). */
export const hasGuestControlPlane = (r: GuestRuntimeKind): boolean => r === "local" || r === "pods";
