// The Helm chart as users meet it: lint, schema, rendering accepted by the API server, RBAC without
// wildcards, a restricted-compliant Deployment, and helm upgrade / uninstall / install on the real
// cluster (the global set-up installed it; this suite leaves it installed again).
import { afterAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { KubeClient, type KubeObject } from "../../controllers/runtime/client.ts";
import { ConfigMaps, CustomResourceDefinitions } from "../../controllers/runtime/resource.ts";
import { eventually, isNotFound, kubeConfig, uniqueName } from "./kube.ts";
import { CHART, helm, installChart, kubectl, RELEASE, RELEASE_NAMESPACE } from "./tools.ts";

const client = new KubeClient(kubeConfig());

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
}
type Doc = KubeObject & { rules?: Rule[]; spec?: Record<string, unknown>; data?: Record<string, string> };

function render(...set: string[]): Doc[] {
  const args = ["template", RELEASE, CHART, "--namespace", RELEASE_NAMESPACE];
  for (const s of set) args.push("--set", s);
  return parseAllDocuments(helm(...args))
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
}
const kinds = (docs: Doc[]) => docs.map((d) => `${d.kind}/${d.metadata?.name}`);
const toYaml = (docs: Doc[]) => docs.map((d) => JSON.stringify(d)).join("\n---\n");

afterAll(() => {
  installChart(); // whatever happened above, the next suites find the chart installed
});

describe("the chart, rendered", () => {
  it("passes helm lint --strict", () => {
    expect(helm("lint", "--strict", CHART)).toContain("0 chart(s) failed");
  });

  it("rejects values its schema does not know, naming them", () => {
    expect(() => render("simulation.podStartDelai=1s")).toThrow(
      /additional properties 'podStartDelai' not allowed/,
    );
    expect(() => render("simulation.podStartDelay=soon")).toThrow(/podStartDelay.*does not match pattern/);
    expect(() => render("replicas=-1")).toThrow(/replicas/);
    expect(() => render("vmClasses.small.hardware.cpus=0")).toThrow(/cpus/);
  });

  it("installs every CRD of crds/ and switches each upstream group off on its own", () => {
    const crds = (docs: Doc[]) =>
      docs.filter((d) => d.kind === "CustomResourceDefinition").map((d) => d.metadata!.name!);
    const all = crds(render());
    expect(all).toContain("esxihosts.vsphere.pacific.dev");
    expect(all).toContain("virtualmachineclasses.vmoperator.vmware.com");
    const noVmOp = crds(render("crds.vmOperator=false"));
    expect(noVmOp.some((n) => n.endsWith(".vmoperator.vmware.com"))).toBe(false);
    expect(noVmOp).toContain("esxihosts.vsphere.pacific.dev");
    expect(crds(render("crds.enabled=false"))).toEqual([]);
    const noCapi = crds(render("crds.clusterAPI=false"));
    expect(noCapi.some((n) => n.endsWith("cluster.x-k8s.io"))).toBe(false);
    expect(noCapi).toContain("tanzukubernetesclusters.run.tanzu.vmware.com");
    const noTkc = crds(render("crds.tkc=false"));
    expect(noTkc.some((n) => n.endsWith(".run.tanzu.vmware.com"))).toBe(false);
    expect(noTkc).toContain("machines.cluster.x-k8s.io");
    for (const d of render().filter((x) => x.kind === "CustomResourceDefinition"))
      expect(d.metadata?.annotations?.["helm.sh/resource-policy"], d.metadata?.name).toBe("keep");
  });

  it("names every resource and verb in its RBAC: no wildcards", () => {
    const roles = render().filter((d) => d.kind === "ClusterRole" || d.kind === "Role");
    expect(roles.length).toBeGreaterThanOrEqual(5);
    for (const r of roles)
      for (const rule of r.rules ?? [])
        for (const v of [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs])
          expect(v, `${r.kind}/${r.metadata?.name}`).not.toContain("*");
    const manager = roles.find((r) => r.metadata?.name === "pacific-manager")!;
    // bind only on the roles Supervisor Namespace access grants.
    const bind = manager.rules!.find((r) => r.verbs.includes("bind"))!;
    expect(bind.resourceNames).toEqual(["edit", "view", "pacific-namespace-owner"]);
  });

  it("renders the optional parts only when asked, with their additional labels", () => {
    expect(kinds(render())).not.toContain("ServiceMonitor/pacific");
    const docs = render(
      "serviceMonitor.enabled=true",
      "prometheusRule.enabled=true",
      "serviceMonitor.additionalLabels.release=prom",
      "prometheusRule.additionalLabels.release=prom",
    );
    const sm = docs.find((d) => d.kind === "ServiceMonitor")!;
    const pr = docs.find((d) => d.kind === "PrometheusRule")!;
    expect(sm.metadata?.labels?.release).toBe("prom");
    expect(pr.metadata?.labels?.release).toBe("prom");
    const alerts = ((pr.spec!.groups as Array<{ rules: Array<{ alert: string }> }>)[0]?.rules ?? []).map(
      (r) => r.alert,
    );
    expect(alerts).toEqual([
      "PacificESXiHostNotResponding",
      "PacificTanzuKubernetesClusterFailed",
      "PacificReconcileErrors",
      "PacificNoLeader",
      "PacificRegistryTokenErrors",
    ]);
    const dash = docs.find((d) => d.kind === "ConfigMap" && d.metadata?.name === "pacific-dashboard")!;
    expect(dash.metadata?.labels?.grafana_dashboard).toBe("1");
    expect(JSON.parse(dash.data!["pacific.json"]!).panels.length).toBeGreaterThan(10);
  });

  it("is accepted by the API server (server dry-run), the Deployment and test Pod under PSA restricted", () => {
    const ns = uniqueName("chart-dry-run");
    kubectl(["create", "namespace", ns]);
    kubectl(["label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted"]);
    // The helm test Pod runs as the chart's ServiceAccount (its token is what reaches /metrics over
    // HTTPS); a dry run does not make it, the release would.
    kubectl(["create", "serviceaccount", "pacific", "-n", ns]);
    try {
      // In a restricted namespace of its own, so PodSecurity judges the manager's pod template.
      const docs = parseAllDocuments(
        helm("template", RELEASE, CHART, "--namespace", ns, "--set", "replicas=2"),
      )
        .map((d) => d.toJS() as Doc | null)
        .filter((d): d is Doc => d !== null)
        // Cluster-scoped objects exist already, owned by the installed release.
        .filter((d) => d.metadata?.namespace === ns);
      expect(kinds(docs)).toEqual(
        expect.arrayContaining([
          "Deployment/pacific",
          "Service/pacific-metrics",
          "ServiceAccount/pacific",
          "ConfigMap/pacific-settings",
          "PodDisruptionBudget/pacific",
        ]),
      );
      const out = kubectl(["apply", "--dry-run=server", "-f", "-"], toYaml(docs));
      expect(out).toContain("deployment.apps/pacific created (server dry run)");
      // A helm test hook Pod is admitted by PodSecurity restricted as is.
      const hook = parseAllDocuments(
        helm(
          "template",
          RELEASE,
          CHART,
          "--namespace",
          ns,
          "--set",
          "replicas=2",
          "--show-only",
          "templates/tests/test-connection.yaml",
        ),
      ).map((d) => d.toJS() as Doc);
      expect(kubectl(["apply", "--dry-run=server", "-f", "-"], toYaml(hook))).toContain(
        "created (server dry run)",
      );
      // The Deployment itself: warnings name PodSecurity violations; there must be none.
      const dep = docs.find((d) => d.kind === "Deployment")!;
      // (as a bare Pod: PodSecurity only warns for a Deployment; its ServiceAccount exists only in the release namespace)
      const podSpec = { ...(dep.spec!.template as { spec: Record<string, unknown> }).spec };
      delete podSpec.serviceAccountName;
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "psa-check", namespace: ns },
        spec: podSpec,
      };
      expect(kubectl(["apply", "--dry-run=server", "-f", "-"], JSON.stringify(pod))).toContain(
        "created (server dry run)",
      );
      // The cluster-scoped part against the cluster as installed.
      const clusterScoped = render().filter((d) => !d.metadata?.namespace);
      expect(kubectl(["apply", "--dry-run=server", "-f", "-"], toYaml(clusterScoped))).toContain(
        "(server dry run)",
      );
    } finally {
      kubectl(["delete", "namespace", ns, "--wait=false"]);
    }
  });
});

describe("the chart, installed", () => {
  it("helm upgrade changes the settings and rolls the manager's pods", async () => {
    const before = render().find((d) => d.kind === "Deployment")!;
    installChart("--set", "simulation.podStartDelay=7s", "--set", "storage.policyCapacities.gold=1Ti");
    const cm = await client.get<KubeObject & { data: Record<string, string> }>(
      ConfigMaps,
      "pacific-settings",
      RELEASE_NAMESPACE,
    );
    expect(cm.data.podStartDelay).toBe("7s");
    expect(cm.data.datastoreCapacity).toBe("10Ti,gold=1Ti");
    const after = JSON.parse(
      kubectl(["get", "deploy", "-n", RELEASE_NAMESPACE, "pacific", "-o", "json"]),
    ) as Doc;
    const checksum = (d: Doc) =>
      (d.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata
        .annotations["checksum/settings"];
    expect(checksum(after)).not.toBe(checksum(before));
    expect(helm("history", RELEASE, "-n", RELEASE_NAMESPACE)).toMatch(/Upgrade complete/);
  });

  it("helm uninstall removes what it made but keeps the CRDs and the objects in them; install brings it back", async () => {
    const host = uniqueName("kept");
    await client.create(ESXiHostResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "ESXiHost",
      metadata: { name: host },
      spec: { capacity: { cpu: 4, memory: "8Gi" } },
    });
    try {
      helm("uninstall", RELEASE, "-n", RELEASE_NAMESPACE, "--wait");
      await eventually("the chart's objects gone", async () => {
        const gone = await Promise.all([
          client.get(ConfigMaps, "pacific-settings", RELEASE_NAMESPACE).then(() => false, isNotFound),
          kubectlGone(["get", "clusterrole", "pacific-manager"]),
          kubectlGone(["get", "serviceaccount", "-n", RELEASE_NAMESPACE, "pacific"]),
        ]);
        return gone.every(Boolean);
      });
      await client.get(CustomResourceDefinitions, "esxihosts.vsphere.pacific.dev"); // kept
      await client.get(ESXiHostResource, host); // and what was in it
      installChart();
      expect(helm("status", RELEASE, "-n", RELEASE_NAMESPACE)).toContain("STATUS: deployed");
      await client.get(ConfigMaps, "pacific-settings", RELEASE_NAMESPACE);
    } finally {
      await client.delete(ESXiHostResource, host).catch(() => undefined);
    }
  });

  it("has no test to run without a manager in the cluster (helm test needs replicas > 0 and a kubelet)", () => {
    // The hook Pod runs the manager's image; this control plane has no kubelet to run it (README).
    expect(helm("test", RELEASE, "-n", RELEASE_NAMESPACE)).toMatch(/^TEST SUITE:\s+None$/m);
  });
});

async function kubectlGone(args: string[]): Promise<boolean> {
  try {
    kubectl(args);
    return false;
  } catch (e) {
    return /NotFound|not found/.test(String(e));
  }
}
