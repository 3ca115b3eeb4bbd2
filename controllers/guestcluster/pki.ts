// A guest cluster's PKI as kubeadm/Cluster API lays it out: the cluster CA, the etcd CA, the
// front-proxy CA, the service-account key pair, and the leaf certificates signed by them. Made with
// @peculiar/x509 on node:crypto's WebCrypto (no openssl child process). ECDSA P-256 keys: kubeadm
// accepts them, and they are generated in about a millisecond where RSA-2048 takes ~100 ms.
import "reflect-metadata"; // @peculiar/x509's dependency injection (tsyringe) needs the polyfill
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
// node's webcrypto is the standard Crypto; the library's parameter type comes from lib.dom.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

/** A certificate and its private key, both PEM (the key PKCS#8). */
export interface KeyPair {
  cert: string;
  key: string;
}

/** The four Secrets' contents Cluster API keeps: <cluster>-ca, -etcd, -proxy, -sa. */
export interface ClusterPki {
  ca: KeyPair;
  etcd: KeyPair;
  proxy: KeyPair;
  /** The service-account signing key: `cert` holds the PUBLIC key PEM, as Cluster API's -sa Secret. */
  sa: KeyPair;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function importKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return webcrypto.subtle.importKey("pkcs8", der, ALG, true, ["sign"]);
}

function serial(): string {
  // Positive 16-byte serial (leading byte < 0x80).
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] ?? 0) & 0x7f;
  return Buffer.from(b).toString("hex");
}

async function publicKeyOf(keys: CryptoKeyPair): Promise<string> {
  const spki = await webcrypto.subtle.exportKey("spki", keys.publicKey);
  return x509.PemConverter.encode(spki, "PUBLIC KEY");
}

/** A self-signed CA valid for ten years (kubeadm's default). */
export async function newCa(commonName: string, now = new Date()): Promise<KeyPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 10 * YEAR_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign |
          x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/** The cluster's CAs and service-account key, as Cluster API generates them for a new cluster. */
export async function newClusterPki(now = new Date()): Promise<ClusterPki> {
  const [ca, etcd, proxy, saKeys] = await Promise.all([
    newCa("kubernetes", now),
    newCa("etcd-ca", now),
    newCa("front-proxy-ca", now),
    newKeys(),
  ]);
  return { ca, etcd, proxy, sa: { cert: await publicKeyOf(saKeys), key: await keyPem(saKeys.privateKey) } };
}

export interface LeafRequest {
  commonName: string;
  /** Organizations: RBAC groups for a client certificate (e.g. system:masters). */
  organizations?: string[];
  usage: "client" | "server" | "both";
  dnsNames?: string[];
  ips?: string[];
}

/** A certificate signed by `ca`, valid one year (kubeadm's default for leaves). */
export async function signLeaf(ca: KeyPair, req: LeafRequest, now = new Date()): Promise<KeyPair> {
  const keys = await newKeys();
  const caCert = new x509.X509Certificate(ca.cert);
  const subject = [`CN=${req.commonName}`, ...(req.organizations ?? []).map((o) => `O=${o}`)].join(", ");
  const eku = [
    ...(req.usage !== "server" ? [x509.ExtendedKeyUsage.clientAuth] : []),
    ...(req.usage !== "client" ? [x509.ExtendedKeyUsage.serverAuth] : []),
  ];
  const san = [
    ...(req.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(req.ips ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + YEAR_MS),
    publicKey: keys.publicKey,
    signingKey: await importKey(ca.key),
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension(eku),
      ...(san.length ? [new x509.SubjectAlternativeNameExtension(san)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: cert.toString("pem"), key: await keyPem(keys.privateKey) };
}

/** True when `leaf` was signed by `ca` and is valid at `at` (used by tests and on adoption). */
export async function verifyLeaf(leaf: string, ca: string, at = new Date()): Promise<boolean> {
  const cert = new x509.X509Certificate(leaf);
  const caCert = new x509.X509Certificate(ca);
  return cert.verify({ publicKey: caCert.publicKey, date: at });
}

/** The subject alternative names of a certificate: DNS names and IPs. */
export function subjectAltNames(pem: string): string[] {
  const ext = new x509.X509Certificate(pem).getExtension(x509.SubjectAlternativeNameExtension);
  return ext ? ext.names.items.map((n) => n.value) : [];
}
