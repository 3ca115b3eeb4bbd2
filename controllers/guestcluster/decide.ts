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

/** The n-th address of an IPv4 CIDR: 1 is the `kubernetes` Service's ClusterIP, 10 kube-dns's (kubeadm). */
export function serviceIp(cidr: string, n: number): string {
  const [base] = cidr.split("/");
  const o = (base ?? "").split(".").map(Number);
  if (o.length !== 4 || o.some((x) => !Number.isInteger(x) || x < 0 || x > 255))
    throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const v = (o.reduce((acc, octet) => acc * 256 + octet, 0) + n) >>> 0;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join(".");
}
