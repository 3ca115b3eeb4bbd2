// The chart's Registry Service (registry.enabled): rendered objects the API server accepts, pods that
// pass Pod Security "restricted", keys and certificates that fit together (the token service accepts
// its signing pair, the registry's certificate chains to the chart's CA for its host), and kept
// across `helm upgrade` (lookup), so tokens and pull secrets survive upgrades. The release is put
// back as the other suites expect it.
import { X509Certificate } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { TokenSigner } from "../../controllers/registry/tokenservice.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import { PersistentVolumeClaims, Secrets } from "../../controllers/runtime/resource.ts";
import { kubeConfig, uniqueName } from "./kube.ts";
import { CHART, helm, installChart, kubectl, RELEASE, RELEASE_NAMESPACE } from "./tools.ts";

type Doc = KubeObject & {
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};
const client = new KubeClient(kubeConfig());

function render(ns: string, ...set: string[]): Doc[] {
  const args = ["template", RELEASE, CHART, "--namespace", ns, "--set", "registry.enabled=true"];
  for (const s of set) args.push("--set", s);
  return parseAllDocuments(helm(...args))
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}
const b64 = (s: string) => Buffer.from(s, "base64").toString("utf8");

afterAll(async () => {
  installChart(); // without the registry again, as the other suites expect
  await client
    .delete(PersistentVolumeClaims, `${RELEASE}-registry`, RELEASE_NAMESPACE)
    .catch(() => undefined);
});

describe("the chart's Registry Service", () => {
  it("is off by default and renders a registry, its storage, Services and the manager's token service when on", () => {
    const off = parseAllDocuments(helm("template", RELEASE, CHART, "--namespace", RELEASE_NAMESPACE)).map(
      (d) => d.toJS() as Doc | null,
    );
    expect(off.filter((d) => d?.metadata?.name?.includes("registry"))).toEqual([]);
    const docs = render(RELEASE_NAMESPACE);
    const names = docs.map((d) => `${d.kind}/${d.metadata?.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        "Deployment/pacific-registry",
        "PersistentVolumeClaim/pacific-registry",
        "Service/pacific-registry",
        "Service/pacific-registry-token",
        "Secret/pacific-registry-signing",
        "Secret/pacific-registry-tls",
        "Secret/pacific-registry-config",
      ]),
    );
    const manager = docs.find((d) => d.kind === "Deployment" && d.metadata?.name === "pacific")!;
    const env = JSON.stringify(manager.spec);
    expect(env).toContain("PACIFIC_REGISTRY_HOST");
    expect(env).toContain("pacific-registry.pacific-system.svc:5000");
  });

  it("makes keys and certificates that fit: the signing pair, the registry's and token service's TLS", () => {
    const docs = render(RELEASE_NAMESPACE, "registry.host=registry.example.com:5000");
    const secret = (n: string) => docs.find((d) => d.kind === "Secret" && d.metadata?.name === n)!.data!;
    const signing = secret("pacific-registry-signing");
    expect(() => new TokenSigner(b64(signing["tls.key"]!), b64(signing["tls.crt"]!), "i", "s")).not.toThrow();
    const tls = secret("pacific-registry-tls");
    const ca = new X509Certificate(b64(tls["ca.crt"]!));
    const registry = new X509Certificate(b64(tls["registry.crt"]!));
    expect(registry.verify(ca.publicKey)).toBe(true);
    expect(registry.checkHost("registry.example.com")).toBe("registry.example.com");
    expect(registry.checkHost("pacific-registry.pacific-system.svc")).toBeDefined();
    const token = new X509Certificate(b64(tls["token.crt"]!));
    expect(token.verify(ca.publicKey)).toBe(true);
    expect(token.checkHost("pacific-registry-token.pacific-system.svc")).toBeDefined();
    const config = docs.find((d) => d.metadata?.name === "pacific-registry-config")!.stringData![
      "config.yml"
    ]!;
    expect(config).toContain("realm: https://pacific-registry-token.pacific-system.svc:8443/service/token");
    expect(config).toContain(`Bearer ${b64(signing["notify-token"]!)}`);
  });

  it("is accepted by the API server, its pods under Pod Security restricted", () => {
    const ns = uniqueName("registry-chart");
    kubectl(["create", "namespace", ns]);
    kubectl(["label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted"]);
    // The helm test Pod runs as the chart's ServiceAccount, which a dry run does not make.
    kubectl(["create", "serviceaccount", "pacific", "-n", ns]);
    try {
      const docs = render(ns).filter((d) => d.metadata?.namespace === ns);
      expect(
        kubectl(["apply", "--dry-run=server", "-f", "-"], docs.map((d) => JSON.stringify(d)).join("\n---\n")),
      ).toContain("deployment.apps/pacific-registry created (server dry run)");
      for (const name of ["pacific-registry", "pacific"]) {
        const dep = docs.find((d) => d.kind === "Deployment" && d.metadata?.name === name)!;
        const spec = { ...(dep.spec!.template as { spec: Record<string, unknown> }).spec };
        delete spec.serviceAccountName;
        const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: `psa-${name}`, namespace: ns }, spec };
        const out = kubectl(["apply", "--dry-run=server", "-f", "-"], JSON.stringify(pod));
        expect(out).toContain("created (server dry run)");
      }
    } finally {
      kubectl(["delete", "namespace", ns, "--wait=false"]);
    }
  });

  it("keeps its keys across helm upgrade", async () => {
    // Without --wait: no kubelet runs the registry's pod on the local control plane.
    const upgrade = (...set: string[]) =>
      helm(
        "upgrade",
        "--install",
        RELEASE,
        CHART,
        "-n",
        RELEASE_NAMESPACE,
        "--set",
        "replicas=0",
        "--set",
        "registry.enabled=true",
        ...set,
      );
    upgrade();
    const before = await client.get<V1Secret>(Secrets, "pacific-registry-signing", RELEASE_NAMESPACE);
    const tlsBefore = await client.get<V1Secret>(Secrets, "pacific-registry-tls", RELEASE_NAMESPACE);
    upgrade("--set", "registry.tokenTtl=10m");
    const after = await client.get<V1Secret>(Secrets, "pacific-registry-signing", RELEASE_NAMESPACE);
    const tlsAfter = await client.get<V1Secret>(Secrets, "pacific-registry-tls", RELEASE_NAMESPACE);
    expect(after.data).toEqual(before.data);
    expect(tlsAfter.data).toEqual(tlsBefore.data);
  });
});
