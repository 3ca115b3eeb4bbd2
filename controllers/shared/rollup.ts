// How long an owner waits after a child's change before it reconciles: the owners whose status sums
// up their children (TanzuKubernetesCluster ← Cluster API graph and VMs; KubeadmControlPlane and
// MachineDeployment ← Machines; Cluster ← control plane) see a burst of child updates as one
// reconcile and one status write. Without it a TKC of 6 VMs wrote its status ~19 times, some of those
// twice over (a second child event arrived before the TKC's own write was back in the cache).
// The owner's own events are not delayed.
export const ROLLUP_DELAY_MS = 500;
