// The web UI in a real browser (Debian's chromium, driven by playwright-core) against the manager
// running the chart's RBAC on the real control plane, with the samples applied: the inventory views,
// live updates over server-sent events, actions performed as the viewer, and who sees what. Each
// view's screenshot goes to docs/images/ (shown in docs/ui.md).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type TanzuKubernetesCluster,
  TanzuKubernetesClusterResource,
} from "../../controllers/api/run/tanzukubernetescluster.ts";
import {
  type VirtualMachine,
  VirtualMachineResource,
} from "../../controllers/api/vmoperator/virtualmachine.ts";
import { type ESXiHost, ESXiHostResource } from "../../controllers/api/vsphere/esxihost.ts";
import { StorageClassBindingResource } from "../../controllers/api/vsphere/storageclassbinding.ts";
import { SupervisorNamespaceResource } from "../../controllers/api/vsphere/supervisornamespace.ts";
import { type VSpherePod, VSpherePodResource } from "../../controllers/api/vsphere/vspherepod.ts";
import { KubeClient } from "../../controllers/runtime/client.ts";
import type { Manager } from "../../controllers/runtime/manager.ts";
import { Namespaces, Pods, type ResourceType, RoleBindings } from "../../controllers/runtime/resource.ts";
import type { Snapshot } from "../../controllers/ui/model.ts";
import { setupUi } from "../../controllers/ui/setup.ts";
import { eventually, kubeConfig, root, uniqueName } from "./kube.ts";
import { expectNoForbidden, startPacific } from "./pacific.ts";
import { kubectl } from "./tools.ts";

const CHROMIUM = process.env.PACIFIC_CHROMIUM ?? "/usr/bin/chromium";
const shots = join(root, "docs", "images");
const client = new KubeClient(kubeConfig());
const saNs = uniqueName("e2e-ui");
const ServiceAccounts: ResourceType = {
  group: "",
  version: "v1",
  plural: "serviceaccounts",
  kind: "ServiceAccount",
  namespaced: true,
};
const ClusterRoleBindings: ResourceType = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterrolebindings",
  kind: "ClusterRoleBinding",
  namespaced: false,
};
const adminBinding = `${saNs}-admin`;

let mgr: Manager;
let base: string;
let browser: Browser;
let admin: BrowserContext;
let page: Page;
let adminToken: string;
let viewerToken: string;

/** A TokenRequest token of a ServiceAccount made for the test. */
async function tokenFor(name: string): Promise<string> {
  await client.create(ServiceAccounts, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name, namespace: saNs },
  });
  const r = await client.request<{ status: { token: string } }>(
    "POST",
    `/api/v1/namespaces/${saNs}/serviceaccounts/${name}/token`,
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

async function login(ctx: BrowserContext, token: string): Promise<Page> {
  const p = await ctx.newPage();
  await p.goto(base);
  await p.fill("textarea[name=token]", token);
  await p.click("button[type=submit]");
  await p.waitForSelector("header .conn.live");
  return p;
}

const host = (p: Page, name: string) => p.locator(`li.host[data-host="${name}"]`);
const getHost = (name: string) => client.get<ESXiHost>(ESXiHostResource, name);

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no browser at ${CHROMIUM}: run hack/install-deps.sh (Debian's chromium)`);
  execFileSync("node", [join(root, "hack", "build-ui.mjs")], { stdio: "inherit" });
  mkdirSync(shots, { recursive: true });
  mgr = await startPacific({}, {}, (m, inv, config) => setupUi(m, inv, config));
  base = `http://127.0.0.1:${mgr.address!.port}/ui/`;

  await client.create(Namespaces, { apiVersion: "v1", kind: "Namespace", metadata: { name: saNs } });
  adminToken = await tokenFor("admin");
  viewerToken = await tokenFor("viewer");
  await client.create(ClusterRoleBindings, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: adminBinding },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "ServiceAccount", name: "admin", namespace: saNs }],
  });

  // The samples, in order (a VSpherePod needs the Namespace its Supervisor Namespace makes), as
  // `npm run up` applies them.
  for (const f of readdirSync(join(root, "samples")).sort())
    await eventually(
      `kubectl apply ${f}`,
      async () => !!kubectl(["apply", "-f", join(root, "samples", f)]),
      60_000,
      1000,
    );
  // A View user of dev-ns (the Supervisor Namespace's View role is the built-in view ClusterRole).
  await eventually("RoleBinding for the viewer", () =>
    client.create(RoleBindings, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: `${saNs}-viewer`, namespace: "dev-ns" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "ServiceAccount", name: "viewer", namespace: saNs }],
    }),
  );
  // A VM of its own (not a guest cluster's node), to power off and on from the page.
  await client.create(VirtualMachineResource, {
    apiVersion: "vmoperator.vmware.com/v1alpha3",
    kind: "VirtualMachine",
    metadata: { name: "ui-vm", namespace: "dev-ns" },
    spec: {
      className: "guaranteed-medium",
      imageName: "ubuntu-22.04",
      storageClass: "vsan-default-storage-policy",
      powerState: "PoweredOn",
    },
  } as VirtualMachine);
  await eventually(
    "tkc-1 running",
    async () =>
      (await client.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, "tkc-1", "dev-ns")).status
        ?.phase === "running",
    240_000,
    1000,
  );
  await eventually(
    "ui-vm placed and on",
    async () =>
      (await client.get<VirtualMachine>(VirtualMachineResource, "ui-vm", "dev-ns")).status?.powerState ===
      "PoweredOn",
    60_000,
  );
  await eventually(
    "nginx Running",
    async () =>
      (await client.get<VSpherePod>(VSpherePodResource, "nginx", "dev-ns")).status?.phase === "Running",
    60_000,
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  admin = await browser.newContext({ viewport: { width: 1440, height: 900 } });
}, 420_000);

afterAll(async () => {
  await browser?.close();
  for (const h of ["esx-01", "esx-02", "esx-03"])
    await client
      .patch(ESXiHostResource, h, undefined, {
        spec: { maintenanceMode: false, simulation: { heartbeats: true } },
      })
      .catch(() => undefined);
  await client.delete(TanzuKubernetesClusterResource, "tkc-1", "dev-ns").catch(() => undefined);
  await client.delete(VSpherePodResource, "nginx", "dev-ns").catch(() => undefined);
  await client.delete(VirtualMachineResource, "ui-vm", "dev-ns").catch(() => undefined);
  await client.delete(StorageClassBindingResource, "dev-ns-vsan-default").catch(() => undefined);
  await eventually(
    "tkc-1's VMs gone",
    async () =>
      (await client.list<VirtualMachine>(VirtualMachineResource, { namespace: "dev-ns" })).items.length === 0,
    120_000,
    1000,
  ).catch(() => undefined);
  await client.delete(SupervisorNamespaceResource, "dev-ns").catch(() => undefined);
  for (const h of ["esx-01", "esx-02", "esx-03"])
    await client.delete(ESXiHostResource, h).catch(() => undefined);
  await client.delete(ClusterRoleBindings, adminBinding).catch(() => undefined);
  await client.delete(Namespaces, saNs).catch(() => undefined);
  await mgr?.stop();
}, 240_000);

describe("the web UI", () => {
  it("refuses unauthenticated requests, bad tokens and actions without the CSRF header", async () => {
    for (const path of ["api/session", "api/stream"]) {
      const r = await fetch(base + path);
      expect(r.status, path).toBe(401);
    }
    const noAuth = await fetch(`${base}api/action`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ action: "maintenance", host: "esx-01", enabled: true }),
    });
    expect(noAuth.status).toBe(401);
    const bad = await fetch(`${base}api/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: "not-a-token" }),
    });
    expect(bad.status).toBe(401);
    // A session cookie alone (what a cross-site form would carry) does not make an action.
    const ok = await fetch(`${base}api/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: adminToken }),
    });
    expect(ok.status).toBe(200);
    const cookie = ok.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const csrfless = await fetch(`${base}api/action`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: cookie.split(";")[0]! },
      body: JSON.stringify({ action: "maintenance", host: "esx-01", enabled: true }),
    });
    expect(csrfless.status).toBe(403);
    expect((await getHost("esx-01")).spec.maintenanceMode).toBe(false);
    // The page itself shows the login form, and no data.
    const anon = await browser.newContext();
    const p = await anon.newPage();
    await p.goto(base);
    await p.waitForSelector("form.login");
    expect(await p.locator("li.host").count()).toBe(0);
    await p.screenshot({ path: join(shots, "ui-login.png") });
    await anon.close();
  });

  it("Hosts and Clusters lists the sample hosts with their VMs and pods", async () => {
    page = await login(admin, adminToken);
    await page.goto(`${base}#/hosts`);
    for (const h of ["esx-01", "esx-02", "esx-03"])
      await page.waitForSelector(
        `[data-cluster="cluster-1"] li.host[data-host="${h}"][data-state="connected"]`,
      );
    const vms = (await client.list<VirtualMachine>(VirtualMachineResource, { namespace: "dev-ns" })).items;
    expect(vms.length).toBe(7); // tkc-1's 3 + 3, and ui-vm
    for (const vm of vms) {
      await eventually(
        `VM ${vm.metadata.name} under its host`,
        async () =>
          (await host(page, vm.status!.host!)
            .locator(`li.vm[data-vm="dev-ns/${vm.metadata.name}"]`)
            .count()) === 1,
        10_000,
      );
    }
    const nginx = await client.get<VSpherePod>(VSpherePodResource, "nginx", "dev-ns");
    const pod = host(page, nginx.status!.hostName!).locator(
      `li.pod[data-pod="dev-ns/${nginx.status!.podName}"]`,
    );
    await pod.waitFor();
    expect(await pod.textContent()).toContain("nginx");
    // The counts are what runs there (best-effort VMs reserve nothing, but count).
    expect(await host(page, vms[0]!.status!.host!).locator(".counts").textContent()).toMatch(/[1-9]\d* VMs/);
    await page.screenshot({ path: join(shots, "ui-hosts.png"), fullPage: true });
  });

  it("Workload Management and the guest cluster's page show dev-ns and tkc-1 (scaled from the page)", async () => {
    await page.goto(`${base}#/workload`);
    const card = page.locator('article.namespace[data-namespace="dev-ns"]');
    await card.waitFor();
    await expect.poll(() => card.textContent()).toContain("tkc-1");
    expect(await card.textContent()).toContain("alice");
    expect(await card.textContent()).toContain("vsan-default-storage-policy");
    await page.screenshot({ path: join(shots, "ui-workload.png"), fullPage: true });

    await card.locator('a[href="#/cluster/dev-ns/tkc-1"]').click();
    const cp = page.locator('[data-pool="control-plane"] tr[data-machine]');
    await expect.poll(() => cp.count()).toBe(3);
    const hostCells = await page.locator('[data-testid="vm-host"]').allInnerTexts();
    expect(hostCells.filter((h) => /^esx-0[123]$/.test(h)).length).toBe(6);
    await page.screenshot({ path: join(shots, "ui-cluster.png"), fullPage: true });

    await page.fill('input[aria-label="replicas of pool-1"]', "2");
    await page.locator('[data-pool="pool-1"] button', { hasText: "Scale" }).click();
    await eventually(
      "pool-1 scaled to 2 (the viewer's patch)",
      async () =>
        (await client.get<TanzuKubernetesCluster>(TanzuKubernetesClusterResource, "tkc-1", "dev-ns")).spec
          .topology.nodePools?.[0]?.replicas === 2,
    );
    await expect
      .poll(() => page.locator('[data-pool="pool-1"] tr[data-machine]').count(), { timeout: 30_000 })
      .toBe(2);
  });

  it("powers a VM off and on from Workload Management", async () => {
    await page.goto(`${base}#/workload`);
    const vm = page.locator('article.namespace[data-namespace="dev-ns"] li[data-vm="dev-ns/ui-vm"]');
    const power = (s: string) => async () =>
      (await client.get<VirtualMachine>(VirtualMachineResource, "ui-vm", "dev-ns")).status?.powerState === s;
    await eventually("ui-vm on", power("PoweredOn"), 60_000);
    await vm.getByRole("button", { name: "Power off" }).click();
    await eventually("ui-vm off (status)", power("PoweredOff"), 30_000);
    await expect.poll(() => vm.textContent(), { timeout: 5_000 }).toContain("PoweredOff");
    await vm.getByRole("button", { name: "Power on" }).click();
    await eventually("ui-vm on again (status)", power("PoweredOn"), 30_000);
    await expect.poll(() => vm.textContent(), { timeout: 5_000 }).toContain("PoweredOn");
  });

  it("entering maintenance mode from the UI evacuates the host", async () => {
    await page.goto(`${base}#/hosts`);
    // The host the vSphere Pod runs on: there is something to evacuate, and the page shows it there.
    const target = (await client.get<VSpherePod>(VSpherePodResource, "nginx", "dev-ns")).status!.hostName!;
    await host(page, target).locator("li.pod").first().waitFor();
    await host(page, target).getByRole("button", { name: "Enter maintenance mode" }).click();
    await eventually(
      "maintenance mode set",
      async () => (await getHost(target)).spec.maintenanceMode === true,
    );
    await eventually(
      `${target} in maintenance mode, empty`,
      async () => {
        const h = await getHost(target);
        const pods = (await client.list<V1Pod>(Pods)).items.filter(
          (p) => p.spec?.nodeName === target && !["Succeeded", "Failed"].includes(p.status?.phase ?? ""),
        );
        const vms = (await client.list<VirtualMachine>(VirtualMachineResource, { namespace: "dev-ns" }))
          .items;
        return (
          h.status?.inMaintenanceMode === true &&
          pods.length === 0 &&
          vms.every((v) => v.status?.host !== target)
        );
      },
      90_000,
      500,
    );
    const row = page.locator(`li.host[data-host="${target}"][data-state="maintenance"]`);
    await row.waitFor({ timeout: 5_000 });
    await expect.poll(() => row.locator("li.vm, li.pod").count(), { timeout: 5_000 }).toBe(0);
    await page.screenshot({ path: join(shots, "ui-maintenance.png"), fullPage: true });
    await row.getByRole("button", { name: "Exit maintenance mode" }).click();
    await page.waitForSelector(`li.host[data-host="${target}"][data-state="connected"]`, { timeout: 30_000 });
  });

  it("a failed host turns 'not responding' on the open page, without a reload, within 2 s", async () => {
    await page.goto(`${base}#/hosts`);
    await page.evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });
    const target = "esx-03";
    await client.patch(ESXiHostResource, target, undefined, { spec: { simulation: { heartbeats: false } } });
    // The node lifecycle controller gives up on the node after its 50 s grace period.
    const seenByPage = page
      .waitForSelector(`li.host[data-host="${target}"][data-state="notResponding"]`, { timeout: 150_000 })
      .then(() => Date.now());
    const seenByApi = await eventually(
      "host notResponding at the API server",
      async () => (await getHost(target)).status?.connectionState === "notResponding" && Date.now(),
      150_000,
      100,
    );
    const onPage = await seenByPage;
    expect(onPage - seenByApi, "page updated this long after the API server had it").toBeLessThanOrEqual(
      2_000,
    );
    expect(await host(page, target).getByTestId("host-state").textContent()).toBe("Not responding");
    expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    await page.screenshot({ path: join(shots, "ui-host-failed.png"), fullPage: true });

    await page.goto(`${base}#/events`);
    await page.waitForSelector(`li.alarm.critical[data-alarm="host/${target}"]`);
    await page.screenshot({ path: join(shots, "ui-events.png"), fullPage: true });

    await client.patch(ESXiHostResource, target, undefined, { spec: { simulation: { heartbeats: true } } });
    await page.goto(`${base}#/hosts`);
    await page.waitForSelector(`li.host[data-host="${target}"][data-state="connected"]`, { timeout: 60_000 });
  }, 240_000);

  it("a View user of dev-ns sees dev-ns only, and no action buttons", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const p = await login(ctx, viewerToken);
    await p.waitForSelector('article.namespace[data-namespace="dev-ns"]');
    await expect
      .poll(() => p.locator('article.namespace[data-namespace="dev-ns"]').textContent())
      .toContain("tkc-1");
    expect(await p.locator("article.namespace").count()).toBe(1);
    expect(await p.locator("header nav a").allInnerTexts()).not.toContain("Hosts and Clusters");
    expect(await p.locator("button.action").count()).toBe(0);
    await p.screenshot({ path: join(shots, "ui-viewer.png"), fullPage: true });
    await p.goto(`${base}#/cluster/dev-ns/tkc-1`);
    await p.waitForSelector('[data-pool="control-plane"] tr[data-machine]');
    expect(await p.locator("button.action").count()).toBe(0);
    await p.goto(`${base}#/hosts`);
    expect(await p.locator("li.host").count()).toBe(0);
    await ctx.close();

    // What the stream sends a viewer: dev-ns rows only, no hosts, no abilities.
    const snap = await firstSnapshot(viewerToken);
    expect(snap.seesHosts).toBe(false);
    expect(snap.abilities).toEqual({ maintenance: false, vmPower: [], scale: [] });
    expect(snap.rows.length).toBeGreaterThan(0);
    expect(new Set(snap.rows.map((r) => r.ns))).toEqual(new Set(["dev-ns"]));
    // And the API server, not the UI, refuses the viewer's action.
    const r = await fetch(`${base}api/action`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${viewerToken}` },
      body: JSON.stringify({ action: "power", namespace: "dev-ns", vm: "none", powerState: "PoweredOff" }),
    });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: string }).error).toMatch(/cannot patch resource "virtualmachines"/);
  });

  it("the manager needed no permission the chart does not grant", async () => {
    await expectNoForbidden(mgr);
  });
});

/** Reads the event stream as `token` until its first snapshot. */
async function firstSnapshot(token: string): Promise<Snapshot> {
  const ac = new AbortController();
  const res = await fetch(`${base}api/stream`, {
    headers: { Authorization: `Bearer ${token}` },
    signal: ac.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("stream ended before a snapshot");
    buf += dec.decode(value, { stream: true });
    const m = /event: snapshot\ndata: (.*)\n\n/.exec(buf);
    if (m) {
      ac.abort();
      return JSON.parse(m[1]!) as Snapshot;
    }
  }
}
