// Whether a node takes on new pods at all, before any resource check. Each agent decides it its own
// way (the Spherelet from its ESXi host: maintenance mode, cordon, not responding; a guest node
// agent admits everything, as a kubelet does); the pod loop only acts on the answer.
export type NodeAdmission<Reason extends string = string> =
  | { admits: true }
  /** reject: the pod fails with this reason (as kubelet admission does); hold: it stays Pending. */
  | { admits: false; action: "reject" | "hold"; reason: Reason; message: string };
