// The Registry Service end to end: the real registry (Debian's docker-registry, started by
// hack/registry.sh with the local cluster), Pacific's token service and registry controller in the
// manager, and skopeo as the client. Users are ServiceAccounts given Edit/View in a Supervisor
// Namespace by its Owner (RoleBindings), so the token service reviews real Kubernetes tokens.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Namespace, V1Pod, V1Secret, V1ServiceAccount } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import {
  type SupervisorNamespace,
  SupervisorNamespaceResource,
} from "../../controllers/api/vsphere/supervisornamespace.ts";
import { type VSpherePod, VSpherePodResource } from "../../controllers/api/vsphere/vspherepod.ts";
import type { RegistryConfig } from "../../controllers/registry/config.ts";
import { ALLOWED_REGISTRIES_ANNOTATION } from "../../controllers/registry/policy.ts";
import { PULL_SECRET_NAME } from "../../controllers/registry/pullsecret.ts";
import { KubeClient } from "../../controllers/runtime/client.ts";
import { apiStatus } from "../../controllers/runtime/errors.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { Namespaces, Pods, RoleBindings, Secrets } from "../../controllers/runtime/resource.ts";
import { eventually, isNotFound, kubeConfig, uniqueName } from "./kube.ts";
import { isLocalCluster } from "./local-cluster.ts";
import { makeOciImage, type OciImage } from "./oci.ts";
import { expectNoForbidden, startPacific } from "./pacific.ts";
import {
  basic,
  certDir,
  errorCodes,
  httpsRequest,
  localRegistryConfig,
  registryState,
  skopeo,
} from "./registry-tools.ts";

const kc = kubeConfig();
const admin = new KubeClient(kc);
const suffix = uniqueName("r").slice(2);
const dev = `reg-dev-${suffix}`;
const other = `reg-other-${suffix}`;
const people = `reg-people-${suffix}`;
const host = `reg-esx-${suffix}`;
const apps = { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true };
const ServiceAccounts = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
};

const config = localRegistryConfig();
// The registry runs with the local control plane; another cluster (kind, ...) has none here.
const run = isLocalCluster() ? describe : describe.skip;

let mgr: Manager;
let reg: RegistryConfig;
let ca: string;
let certs: string;
let image: OciImage;
const tokens: Record<"editor" | "viewer" | "outsider", string> = { editor: "", viewer: "", outsider: "" };
const scratch = mkdtempSync(join(tmpdir(), "pacific-pull-"));

const svnsObj = (name: string, spec: object = {}): SupervisorNamespace =>
  ({
    apiVersion: "vsphere.pacific.dev/v1alpha1",
    kind: "SupervisorNamespace",
    metadata: { name },
    spec: { podSecurity: "baseline", ...spec },
  }) as SupervisorNamespace;

const ref = (project: string, repo = "app", tag = "1") => `docker://${reg.host}/${project}/${repo}:${tag}`;
const creds = (user: string, password: string) => `${user}:${password}`;

async function saToken(name: string): Promise<string> {
  const r = await admin.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${people}/serviceaccounts/${name}/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 3600 },
      },
    },
  );
  return r.status.token;
}

async function push(user: string, password: string, tag = "1", project = dev) {
  return skopeo([
    "copy",
    "--dest-cert-dir",
    certs,
    "--dest-creds",
    creds(user, password),
    `oci:${image.dir}:${image.tag}`,
    ref(project, "app", tag),
  ]);
}

async function pull(user: string | undefined, password: string, project = dev, tag = "1") {
  const out = join(scratch, `${Date.now()}-${Math.random().toString(36).slice(2)}`);
  return skopeo([
    "copy",
    "--src-cert-dir",
    certs,
    ...(user ? ["--src-creds", creds(user, password)] : ["--src-no-creds"]),
    ref(project, "app", tag),
    `oci:${out}:${tag}`,
  ]);
}

/** The token endpoint's answer for these scopes. */
async function tokenFor(auth: string | undefined, scopes: string[]) {
  const q = new URLSearchParams({ service: reg.service });
  for (const s of scopes) q.append("scope", s);
  return httpsRequest(`https://${reg.tokenAddress}/service/token?${q}`, ca, {
    headers: auth ? { Authorization: auth } : {},
  });
}

const accessOf = (token: string) =>
  JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as {
    access: unknown[];
    aud: string;
    exp: number;
    iat: number;
  };

const getSvns = (n: string) => admin.get<SupervisorNamespace>(SupervisorNamespaceResource, n);

run("the Registry Service", () => {
  beforeAll(async () => {
    if (!config)
      throw new Error(
        `no registry: ${join(registryState, "manager.env")} is missing (hack/cluster.sh up starts it when docker-registry is installed)`,
      );
    reg = config;
    ca = readFileSync(reg.caFile!, "utf8");
    certs = certDir(reg.caFile!);
    image = makeOciImage(256 * 1024);
    // Robot credentials live 12 s here (24 h by default), so the test sees one rotated.
    mgr = await startPacific({}, { registry: { ...reg, robotTtlMs: 12_000 } });
    await eventually("the token service listening", async () => mgr.notReadyReason() === undefined, 30_000);
    await admin.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: people } });
    for (const sa of ["editor", "viewer", "outsider"])
      await admin.create(ServiceAccounts, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: sa, namespace: people },
      });
    await admin.create(
      SupervisorNamespaceResource,
      svnsObj(dev, { access: [{ subjectType: "User", subject: `alice-${suffix}`, role: "Owner" }] }),
    );
    await admin.create(SupervisorNamespaceResource, svnsObj(other));
    await admin.create<ESXiHost>(ESXiHostResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "ESXiHost",
      metadata: { name: host },
      spec: {
        clusterName: "cluster-reg",
        zone: `zone-${suffix}`,
        capacity: { cpu: 16, memory: "64Gi", pods: 110 },
        maintenanceMode: false,
      },
    } as ESXiHost);
    for (const n of [dev, other])
      await eventually(`${n} Ready`, async () =>
        (await getSvns(n)).status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
    // Edit and View in dev for the test's users. They are ServiceAccounts of another namespace (skopeo
    // presents their tokens), which the tenant policy lets no Owner bind (only the access list's
    // subjects and dev's own ServiceAccounts): the vSphere admin binds them.
    const rb = (name: string, role: string, sa: string, ns: string) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name, namespace: ns },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
      subjects: [{ kind: "ServiceAccount", name: sa, namespace: people }],
    });
    await admin.create(RoleBindings, rb("registry-editor", "edit", "editor", dev));
    await admin.create(RoleBindings, rb("registry-viewer", "view", "viewer", dev));
    await admin.create(RoleBindings, rb("registry-outsider", "edit", "outsider", other));
    for (const k of Object.keys(tokens) as Array<keyof typeof tokens>) tokens[k] = await saToken(k);
  });

  afterAll(async () => {
    for (const n of [dev, other]) await admin.delete(SupervisorNamespaceResource, n).catch(() => undefined);
    await admin.delete(Namespaces, people).catch(() => undefined);
    await admin.delete(ESXiHostResource, host).catch(() => undefined);
    if (mgr) {
      // Let the deletions above finish with the registry controller still running (its finalizer).
      await eventually(
        "test namespaces gone",
        async () => {
          for (const n of [dev, other]) if (await getSvns(n).catch(() => undefined)) return false;
          return true;
        },
        60_000,
      ).catch(() => undefined);
      await mgr.stop();
    }
    image?.remove();
    rmSync(scratch, { recursive: true, force: true });
    if (certs) rmSync(certs, { recursive: true, force: true });
  });

  it("refuses anonymous requests with the registry's UNAUTHORIZED error", async () => {
    const t = await tokenFor(undefined, [`repository:${dev}/app:pull`]);
    expect(t.status).toBe(401);
    expect(errorCodes(t.body)).toEqual(["UNAUTHORIZED"]);
    const direct = await httpsRequest(`https://${reg.host}/v2/${dev}/app/tags/list`, ca);
    expect(direct.status).toBe(401);
    expect(errorCodes(direct.body)).toEqual(["UNAUTHORIZED"]);
    expect(String(direct.headers["www-authenticate"])).toContain(
      `realm="https://${reg.tokenAddress}/service/token"`,
    );
    const bad = await tokenFor(basic("someone", "not-a-token"), [`repository:${dev}/app:pull`]);
    expect(bad.status).toBe(401);
    const r = await pull(undefined, "");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unauthorized|authentication required/i);
  });

  it("lets an Edit user push an image made from a tarball and pull it back", async () => {
    const p = await push("editor", tokens.editor);
    expect(p.code, p.stderr).toBe(0);
    const r = await pull("editor", tokens.editor);
    expect(r.code, r.stderr).toBe(0);
    const inspect = await skopeo([
      "inspect",
      "--cert-dir",
      certs,
      "--creds",
      creds("editor", tokens.editor),
      ref(dev),
    ]);
    expect(inspect.code, inspect.stderr).toBe(0);
    expect((JSON.parse(inspect.stdout) as { Digest: string }).Digest).toBe(image.manifestDigest);
    // The token is short-lived and audience-bound to the registry.
    const t = await tokenFor(basic("editor", tokens.editor), [`repository:${dev}/app:pull,push`]);
    expect(t.status).toBe(200);
    const body = JSON.parse(t.body) as {
      token: string;
      access_token: string;
      expires_in: number;
      issued_at: string;
    };
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    const claims = accessOf(body.token);
    expect(claims.aud).toBe(reg.service);
    expect(claims.exp - claims.iat).toBe(300);
    expect(claims.access).toEqual([{ type: "repository", name: `${dev}/app`, actions: ["pull", "push"] }]);
  });

  it("lets a View user pull and refuses its push with the registry's UNAUTHORIZED (insufficient_scope)", async () => {
    const r = await pull("viewer", tokens.viewer);
    expect(r.code, r.stderr).toBe(0);
    const p = await push("viewer", tokens.viewer, "2");
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/unauthorized|denied/i);
    const t = await tokenFor(`Bearer ${tokens.viewer}`, [`repository:${dev}/app:pull,push`]);
    const token = (JSON.parse(t.body) as { token: string }).token;
    expect(accessOf(token).access).toEqual([{ type: "repository", name: `${dev}/app`, actions: ["pull"] }]);
    const upload = await httpsRequest(`https://${reg.host}/v2/${dev}/app/blobs/uploads/`, ca, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(upload.status).toBe(401);
    expect(errorCodes(upload.body)).toEqual(["UNAUTHORIZED"]);
    expect(String(upload.headers["www-authenticate"])).toContain('error="insufficient_scope"');
  });

  it("refuses a user of another namespace both pull and push", async () => {
    const r = await pull("outsider", tokens.outsider);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unauthorized|denied/i);
    const p = await push("outsider", tokens.outsider, "3");
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/unauthorized|denied/i);
    // ... while it may push to its own namespace's project.
    const own = await push("outsider", tokens.outsider, "1", other);
    expect(own.code, own.stderr).toBe(0);
    const t = await tokenFor(basic("outsider", tokens.outsider), [
      `repository:${dev}/app:pull,push`,
      "registry:catalog:*",
    ]);
    expect(accessOf((JSON.parse(t.body) as { token: string }).token).access).toEqual([]);
  });

  it("reports the project on the SupervisorNamespace and counts the push", async () => {
    const s = await eventually("status.registry with the pushed repository", async () => {
      const x = await getSvns(dev);
      return x.status?.registry?.repositories === 1 && x.status.registry;
    });
    expect(s.project).toBe(dev);
    expect(s.url).toBe(`${reg.host}/${dev}`);
    expect(s.quotaExceeded).toBe(false);
    const metrics = await mgr.metrics.registry.metrics();
    expect(metrics).toMatch(new RegExp(`pacific_registry_pushes_total\\{project="${dev}"\\} [1-9]`));
    expect(metrics).toMatch(/pacific_registry_token_requests_total\{result="unauthorized"\} [1-9]/);
    expect(metrics).toMatch(new RegExp(`pacific_registry_storage_bytes\\{project="${dev}"\\} [1-9]`));
  });

  it("gives the namespace a pull secret on its default ServiceAccount that pulls its own project only", async () => {
    const secret = await eventually("the pull secret", () =>
      admin.get<V1Secret>(Secrets, PULL_SECRET_NAME, dev),
    );
    expect(secret.type).toBe("kubernetes.io/dockerconfigjson");
    const cfg = JSON.parse(Buffer.from(secret.data![".dockerconfigjson"]!, "base64").toString()) as {
      auths: Record<string, { username: string; password: string }>;
    };
    const { username, password } = cfg.auths[reg.host]!;
    expect(username).toBe(`robot$${dev}`);
    await eventually("the default ServiceAccount has it", async () => {
      const sa = await admin.get<V1ServiceAccount>(ServiceAccounts, "default", dev);
      return sa.imagePullSecrets?.some((x) => x.name === PULL_SECRET_NAME);
    });
    expect((await pull(username, password)).code).toBe(0);
    const p = await push(username, password, "robot");
    expect(p.code).not.toBe(0);
    expect((await pull(username, password, other)).code).not.toBe(0);
    // Rotated when a third of its lifetime is left; the old one works until it expires.
    const expires = secret.metadata!.annotations!["vsphere.pacific.dev/credential-expires-at"]!;
    const rotated = await eventually(
      "the pull secret rotated",
      async () => {
        const x = await admin.get<V1Secret>(Secrets, PULL_SECRET_NAME, dev);
        return x.metadata?.annotations?.["vsphere.pacific.dev/credential-expires-at"] !== expires && x;
      },
      20_000,
    );
    const fresh = (
      JSON.parse(Buffer.from(rotated.data![".dockerconfigjson"]!, "base64").toString()) as typeof cfg
    ).auths[reg.host]!;
    expect(fresh.password).not.toBe(password);
    expect((await pull(fresh.username, fresh.password)).code).toBe(0);
    if (Date.now() < Date.parse(expires) - 1_000) expect((await pull(username, password)).code).toBe(0);
    await eventually(
      "the old credential expired",
      async () => Date.now() > Date.parse(expires) + 1_000,
      20_000,
    );
    expect((await tokenFor(basic(username, password), [`repository:${dev}/app:pull`])).status).toBe(401);
    // A forged or tampered credential is nobody.
    const t = await tokenFor(basic(username, `${password.slice(0, -4)}AAAA`), [`repository:${dev}/app:pull`]);
    expect(t.status).toBe(401);
  });

  it("refuses pushes once the project is over its storage quota, pulls still work", async () => {
    await admin.patch(SupervisorNamespaceResource, dev, undefined, {
      spec: { registry: { storageQuota: "1Ki" } },
    });
    await eventually(
      "quotaExceeded",
      async () => (await getSvns(dev)).status?.registry?.quotaExceeded === true,
    );
    const p = await push("editor", tokens.editor, "over");
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/unauthorized|denied/i);
    expect((await pull("editor", tokens.editor)).code).toBe(0);
    await admin.patch(SupervisorNamespaceResource, dev, undefined, { spec: { registry: null } });
    await eventually(
      "quota lifted",
      async () => (await getSvns(dev)).status?.registry?.quotaExceeded === false,
    );
    expect((await push("editor", tokens.editor, "2")).code).toBe(0);
  });

  it("runs a VSpherePod, a Pod on an ESXi node and a Deployment with the pushed image", async () => {
    const img = `${reg.host}/${dev}/app:1`;
    await admin.create<VSpherePod>(VSpherePodResource, {
      apiVersion: "vsphere.pacific.dev/v1alpha1",
      kind: "VSpherePod",
      metadata: { name: "app", namespace: dev },
      spec: { zone: `zone-${suffix}`, template: { spec: { containers: [{ name: "app", image: img }] } } },
    } as VSpherePod);
    await admin.create(Pods, {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "bound", namespace: dev },
      spec: {
        nodeName: host,
        tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
        containers: [{ name: "app", image: img }],
      },
    });
    await admin.create(apps, {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: dev },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            nodeSelector: { "topology.kubernetes.io/zone": `zone-${suffix}` },
            tolerations: [{ key: "virtual-kubelet.io/provider", operator: "Exists", effect: "NoSchedule" }],
            containers: [{ name: "web", image: img }],
          },
        },
      },
    });
    await eventually(
      "the VSpherePod Running",
      async () => (await admin.get<VSpherePod>(VSpherePodResource, "app", dev)).status?.phase === "Running",
      60_000,
    );
    await eventually(
      "the bound Pod Running",
      async () => (await admin.get<V1Pod>(Pods, "bound", dev)).status?.phase === "Running",
      60_000,
    );
    await eventually(
      "the Deployment's pod Running",
      async () => {
        const pods = (await admin.list<V1Pod>(Pods, { namespace: dev, labelSelector: "app=web" })).items;
        return pods.some((p) => p.status?.phase === "Running" && p.spec?.containers[0]?.image === img);
      },
      60_000,
    );
  });

  it("refuses images from registries the admin does not allow, naming the image and the allowed ones", async () => {
    await admin.patch(SupervisorNamespaceResource, dev, undefined, {
      spec: { allowedRegistries: ["ghcr.io/acme"] },
    });
    await eventually(
      "the Namespace annotation",
      async () =>
        (await admin.get<V1Namespace>(Namespaces, dev)).metadata?.annotations?.[
          ALLOWED_REGISTRIES_ANNOTATION
        ] === `${reg.host}/${dev},ghcr.io/acme`,
    );
    const vpod = (name: string, image: string) =>
      admin.create<VSpherePod>(VSpherePodResource, {
        apiVersion: "vsphere.pacific.dev/v1alpha1",
        kind: "VSpherePod",
        metadata: { name, namespace: dev },
        spec: { zone: `zone-${suffix}`, template: { spec: { containers: [{ name: "app", image }] } } },
      } as VSpherePod);
    const refused = await vpod("hub", "nginx:1.27").then(
      () => undefined,
      (e: unknown) => apiStatus(e),
    );
    expect(refused?.code, refused?.message).toBe(403);
    expect(refused?.message).toContain("image nginx:1.27 is not allowed in Supervisor Namespace");
    expect(refused?.message).toContain(`${reg.host}/${dev}, ghcr.io/acme`);
    const otherProject = await vpod("theirs", `${reg.host}/${other}/app:1`).then(
      () => undefined,
      (e: unknown) => apiStatus(e),
    );
    expect(otherProject?.code, otherProject?.message).toBe(403);
    const pod = await admin
      .create(Pods, {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "hub", namespace: dev },
        spec: { containers: [{ name: "c", image: "docker.io/library/busybox" }] },
      })
      .then(
        () => undefined,
        (e: unknown) => apiStatus(e),
      );
    expect(pod?.message).toContain("image docker.io/library/busybox is not allowed");
    await vpod("own", `${reg.host}/${dev}/app:1`);
    await vpod("acme", "ghcr.io/acme/tool:2");
    // The Deployment made before the policy keeps its image (admitted then) on update.
    await admin.patch(apps, "web", dev, { spec: { replicas: 2 } });
  });

  it("deletes the project, its pull secret and (after garbage collection) its blobs with the Supervisor Namespace", async () => {
    const blob = (d: string) =>
      join(
        registryState,
        "storage",
        "docker",
        "registry",
        "v2",
        "blobs",
        "sha256",
        d.slice(7, 9),
        d.slice(7),
        "data",
      );
    expect(existsSync(blob(image.blobDigests[0]!))).toBe(true); // the layer, pushed to both projects
    await admin.delete(SupervisorNamespaceResource, dev);
    await eventually(
      "the SupervisorNamespace gone",
      async () => {
        try {
          await getSvns(dev);
          return false;
        } catch (e) {
          return isNotFound(e);
        }
      },
      90_000,
    );
    await eventually(
      "the pull secret gone",
      async () =>
        admin.get(Secrets, PULL_SECRET_NAME, dev).then(
          () => false,
          (e: unknown) => isNotFound(e),
        ),
      60_000,
    );
    const metrics = await mgr.metrics.registry.metrics();
    expect(metrics).not.toContain(`pacific_registry_storage_bytes{project="${dev}"}`);
    // The registry itself no longer knows the repository (its tags are gone with the manifests).
    const s = await skopeo([
      "inspect",
      "--cert-dir",
      certs,
      "--creds",
      creds("outsider", tokens.outsider),
      ref(dev),
    ]);
    expect(s.code).not.toBe(0);
    expect(existsSync(join(registryState, "storage", "docker", "registry", "v2", "repositories", dev))).toBe(
      false,
    );
    // The layer is still referenced by the other project; delete that too and it goes.
    await admin.delete(SupervisorNamespaceResource, other);
    await eventually(
      "the other project's blobs collected",
      async () => !existsSync(blob(image.blobDigests[0]!)),
      90_000,
    );
    expect(existsSync(blob(image.blobDigests[1]!))).toBe(false);
    await expectNoForbidden(mgr);
  });
});
