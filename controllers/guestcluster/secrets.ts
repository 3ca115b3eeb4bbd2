// The Secrets Cluster API keeps for a cluster (names and keys as its secret package:
// <cluster>-ca, -etcd, -proxy, -sa with tls.crt/tls.key; <cluster>-kubeconfig with `value`), built
// from a ClusterPki, and read back so that a restarted manager reuses the same PKI.
import type { V1Secret } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { CapiLabels, CLUSTER_SECRET_TYPE } from "../api/contracts.ts";
import type { ClusterPki, KeyPair } from "./pki.ts";

export const secretNames = {
  ca: (cluster: string) => `${cluster}-ca`,
  etcd: (cluster: string) => `${cluster}-etcd`,
  proxy: (cluster: string) => `${cluster}-proxy`,
  sa: (cluster: string) => `${cluster}-sa`,
  kubeconfig: (cluster: string) => `${cluster}-kubeconfig`,
};

export type PkiPart = keyof ClusterPki;
const PARTS: PkiPart[] = ["ca", "etcd", "proxy", "sa"];

const b64 = (s: string) => Buffer.from(s).toString("base64");
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, "base64").toString("utf8") : undefined);

export interface SecretOwner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

function secret(
  namespace: string,
  name: string,
  cluster: string,
  owner: SecretOwner,
  data: Record<string, string>,
): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: CLUSTER_SECRET_TYPE,
    metadata: {
      name,
      namespace,
      labels: { [CapiLabels.clusterName]: cluster },
      ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
    },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

/** The four certificate Secrets. */
export function pkiSecrets(
  namespace: string,
  cluster: string,
  owner: SecretOwner,
  pki: ClusterPki,
): V1Secret[] {
  return PARTS.map((part) =>
    secret(namespace, secretNames[part](cluster), cluster, owner, {
      "tls.crt": pki[part].cert,
      "tls.key": pki[part].key,
    }),
  );
}

/** The PKI from its Secrets, or undefined when any is missing or incomplete. */
export function pkiFromSecrets(
  cluster: string,
  get: (name: string) => V1Secret | undefined,
): ClusterPki | undefined {
  const parts: Partial<Record<PkiPart, KeyPair>> = {};
  for (const part of PARTS) {
    const s = get(secretNames[part](cluster));
    const cert = unb64(s?.data?.["tls.crt"]);
    const key = unb64(s?.data?.["tls.key"]);
    if (!cert || !key) return undefined;
    parts[part] = { cert, key };
  }
  return parts as ClusterPki;
}

/** A kubeconfig for `server`, trusting `caCert`, authenticating with a client certificate. */
export function renderKubeconfig(
  cluster: string,
  server: string,
  caCert: string,
  user: string,
  client: KeyPair,
): string {
  const context = `${user}@${cluster}`;
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { server, "certificate-authority-data": b64(caCert) } }],
    contexts: [{ name: context, context: { cluster, user } }],
    "current-context": context,
    users: [
      {
        name: user,
        user: { "client-certificate-data": b64(client.cert), "client-key-data": b64(client.key) },
      },
    ],
  });
}

/** <cluster>-kubeconfig: the admin kubeconfig (user <cluster>-admin, group system:masters), key `value`. */
export function kubeconfigSecret(
  namespace: string,
  cluster: string,
  owner: SecretOwner,
  kubeconfig: string,
): V1Secret {
  return secret(namespace, secretNames.kubeconfig(cluster), cluster, owner, { value: kubeconfig });
}
