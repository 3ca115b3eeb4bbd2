// Pure decisions of the guest-cluster controller: whether a Cluster's guest control plane should run
// now, and with which addresses.
import type { Cluster } from "../api/cluster/cluster.ts";
import type { Machine } from "../api/cluster/machine.ts";
import { CapiLabels } from "../api/contracts.ts";

export type { GuestRuntimeKind } from "../shared/guestruntime.ts";

/** Cluster API's defaults when the Cluster names no networks. */
export const DEFAULT_POD_CIDR = "192.168.0.0/16";
export const DEFAULT_SERVICE_CIDR = "10.96.0.0/12";

/** A control-plane Machine whose VM is powered on (the Machine controller sets nodeRef only then). */
export function controlPlaneUp(machines: Machine[]): boolean {
  return machines.some(
    (m) =>
      m.metadata.labels?.[CapiLabels.controlPlane] !== undefined &&
      !m.metadata.deletionTimestamp &&
      !!m.status?.nodeRef?.name,
  );
}

export interface GuestNetwork {
  vip: string;
  podCidr: string;
  serviceCidr: string;
}

/** The guest's endpoint and networks from the Cluster, or undefined while it has no endpoint yet. */
export function guestNetwork(c: Cluster): GuestNetwork | undefined {
  const vip = c.spec.controlPlaneEndpoint?.host;
  if (!vip) return undefined;
  return {
    vip,
    podCidr: c.spec.clusterNetwork?.pods?.cidrBlocks?.[0] ?? DEFAULT_POD_CIDR,
    serviceCidr: c.spec.clusterNetwork?.services?.cidrBlocks?.[0] ?? DEFAULT_SERVICE_CIDR,
  };
}
