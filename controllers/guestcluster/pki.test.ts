import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { assertLoopback, firstServiceIp } from "./local.ts";
import { newClusterPki, signLeaf, subjectAltNames, verifyLeaf } from "./pki.ts";
import { kubeconfigSecret, pkiFromSecrets, pkiSecrets, renderKubeconfig, secretNames } from "./secrets.ts";

const owner = { apiVersion: "cluster.x-k8s.io/v1beta1", kind: "Cluster", name: "tkc-1", uid: "u-1" };

describe("guest PKI", () => {
  it("signs leaves that chain to their CA only", async () => {
    const pki = await newClusterPki();
    const leaf = await signLeaf(pki.ca, {
      commonName: "kube-apiserver",
      usage: "server",
      ips: ["127.0.100.1"],
      dnsNames: ["kubernetes"],
    });
    expect(await verifyLeaf(leaf.cert, pki.ca.cert)).toBe(true);
    expect(await verifyLeaf(leaf.cert, pki.etcd.cert)).toBe(false);
    expect(subjectAltNames(leaf.cert)).toEqual(["kubernetes", "127.0.100.1"]);
    expect(leaf.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(pki.sa.cert).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it("is kept in Cluster API's Secrets and read back whole", async () => {
    const pki = await newClusterPki();
    const secrets = pkiSecrets("ns", "tkc-1", owner, pki);
    expect(secrets.map((s) => s.metadata?.name)).toEqual([
      "tkc-1-ca",
      "tkc-1-etcd",
      "tkc-1-proxy",
      "tkc-1-sa",
    ]);
    expect(secrets.every((s) => s.type === "cluster.x-k8s.io/secret")).toBe(true);
    const byName = new Map(secrets.map((s) => [s.metadata?.name, s]));
    expect(pkiFromSecrets("tkc-1", (n) => byName.get(n))).toEqual(pki);
    byName.delete(secretNames.sa("tkc-1"));
    expect(pkiFromSecrets("tkc-1", (n) => byName.get(n))).toBeUndefined();
  });

  it("writes an admin kubeconfig with the CA embedded and a client certificate", async () => {
    const pki = await newClusterPki();
    const admin = await signLeaf(pki.ca, {
      commonName: "kubernetes-admin",
      organizations: ["system:masters"],
      usage: "client",
    });
    const text = renderKubeconfig("tkc-1", "https://127.0.100.1:6443", pki.ca.cert, "tkc-1-admin", admin);
    const kc = parse(text);
    expect(kc.clusters[0].cluster.server).toBe("https://127.0.100.1:6443");
    expect(Buffer.from(kc.clusters[0].cluster["certificate-authority-data"], "base64").toString()).toBe(
      pki.ca.cert,
    );
    expect(kc.clusters[0].cluster["insecure-skip-tls-verify"]).toBeUndefined();
    expect(kc.users[0].user.token).toBeUndefined();
    const s = kubeconfigSecret("ns", "tkc-1", owner, text);
    expect(s.metadata?.name).toBe("tkc-1-kubeconfig");
    expect(Buffer.from(s.data?.value ?? "", "base64").toString()).toBe(text);
  });
});

describe("local runtime addresses", () => {
  it("accepts only loopback VIPs", () => {
    expect(() => assertLoopback("127.0.100.7")).not.toThrow();
    expect(() => assertLoopback("192.168.128.1")).toThrow(/loopback/);
    expect(() => assertLoopback("10.0.0.1")).toThrow(/loopback/);
  });

  it("puts the kubernetes Service's ClusterIP first in the Service CIDR", () => {
    expect(firstServiceIp("10.96.0.0/12")).toBe("10.96.0.1");
    expect(firstServiceIp("198.51.100.0/24")).toBe("198.51.100.1");
  });
});
