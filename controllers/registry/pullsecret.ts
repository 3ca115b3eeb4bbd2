// The pull secret of a Supervisor Namespace: a kubernetes.io/dockerconfigjson Secret holding a robot
// credential that pulls from the namespace's own project only, attached to its default
// ServiceAccount, rotated when a third of its lifetime is left. Pure.
import type { V1Secret, V1ServiceAccount } from "@kubernetes/client-node";

import {
  MANAGED_BY,
  MANAGED_BY_LABEL,
  REGISTRY_PULL_SECRET_LABEL as PULL_SECRET_LABEL,
  REGISTRY_PULL_SECRET_NAME as PULL_SECRET_NAME,
} from "../api/contracts.ts";

export { PULL_SECRET_LABEL, PULL_SECRET_NAME };
export const EXPIRES_ANNOTATION = "vsphere.pacific.dev/credential-expires-at";
export const REGISTRY_ANNOTATION = "vsphere.pacific.dev/registry";
export const UID_ANNOTATION = "vsphere.pacific.dev/supervisor-namespace-uid";

export function pullSecret(
  namespace: string,
  registryHost: string,
  username: string,
  credential: string,
  expiresAt: Date,
  svnsUid: string,
): V1Secret {
  const auth = Buffer.from(`${username}:${credential}`).toString("base64");
  const config = { auths: { [registryHost]: { username, password: credential, auth } } };
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/dockerconfigjson",
    metadata: {
      name: PULL_SECRET_NAME,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [PULL_SECRET_LABEL]: "true" },
      annotations: {
        [EXPIRES_ANNOTATION]: expiresAt.toISOString(),
        [REGISTRY_ANNOTATION]: registryHost,
        [UID_ANNOTATION]: svnsUid,
      },
    },
    data: { ".dockerconfigjson": Buffer.from(JSON.stringify(config)).toString("base64") },
  };
}

/** Whether the Secret must be (re)written: absent, for another registry or namespace incarnation, or near expiry. */
export function needsRotation(
  cur: V1Secret | undefined,
  registryHost: string,
  svnsUid: string,
  ttlMs: number,
  now: Date,
): boolean {
  const a = cur?.metadata?.annotations ?? {};
  if (!cur?.data?.[".dockerconfigjson"] || cur.type !== "kubernetes.io/dockerconfigjson") return true;
  if (a[REGISTRY_ANNOTATION] !== registryHost || a[UID_ANNOTATION] !== svnsUid) return true;
  const expires = Date.parse(a[EXPIRES_ANNOTATION] ?? "");
  return !Number.isFinite(expires) || now.getTime() >= rotateAt(expires, ttlMs);
}

/** When a credential expiring at `expires` (ms) is rotated: a third of its lifetime before. */
export function rotateAt(expires: number, ttlMs: number): number {
  return expires - ttlMs / 3;
}

/** The ServiceAccount's imagePullSecrets with the pull secret added, or undefined if it has it. */
export function withPullSecret(sa: V1ServiceAccount): Array<{ name: string }> | undefined {
  const cur = (sa.imagePullSecrets ?? []).map((s) => ({ name: s.name ?? "" }));
  return cur.some((s) => s.name === PULL_SECRET_NAME) ? undefined : [...cur, { name: PULL_SECRET_NAME }];
}
