// The node Lease a kubelet renews in kube-node-lease (owned by its Node), as every node agent posts it.
import type { V1Lease, V1Node } from "@kubernetes/client-node";
import { microTime } from "../../runtime/conditions.ts";

export const LEASE_NAMESPACE = "kube-node-lease";

export function desiredLease(node: V1Node, leaseDurationSeconds: number, now: Date): V1Lease {
  const name = node.metadata?.name ?? "";
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name,
      namespace: LEASE_NAMESPACE,
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name, uid: node.metadata?.uid ?? "" }],
    },
    spec: { holderIdentity: name, leaseDurationSeconds, renewTime: microTime(now) as unknown as Date },
  };
}
