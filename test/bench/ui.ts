// Benchmark `ui`: the web UI with 1,000 hosts and 10,000 pods in the caches, in real Chromium.
//   firstRender  navigation start → the first snapshot on screen (the Hosts and Clusters view), ms
//   cpuPerUpdate server CPU (user + system) per pod update: recompute, compare, filter per viewer,
//                serialize and write to the event stream; and how long the browser took to show the
//                last of a burst (it must stay responsive under the stream)
// The caches are filled in memory (no API server: at 11,000 objects the kube-apiserver, not the UI,
// would dominate this 2-core machine), and the viewer is allowed everything by a stand-in for
// SubjectAccessReview (whose answers the UI caches anyway). Everything else is the code the manager runs.
import http from "node:http";
import os from "node:os";
import type { EventsV1Event, V1Pod } from "@kubernetes/client-node";
import * as k8s from "@kubernetes/client-node";
import { chromium } from "playwright-core";
import type { ESXiHost } from "../../controllers/api/vsphere/esxihost.ts";
import type { SupervisorNamespace } from "../../controllers/api/vsphere/supervisornamespace.ts";
import type { VSpherePod } from "../../controllers/api/vsphere/vspherepod.ts";
import type { KubeObject } from "../../controllers/runtime/client.ts";
import type { Handler } from "../../controllers/runtime/informer.ts";
import { newLogger } from "../../controllers/runtime/log.ts";
import { Store } from "../../controllers/runtime/store.ts";
import type { Authenticator, Authorizer, Viewer } from "../../controllers/ui/auth.ts";
import { LiveInventory, type Source } from "../../controllers/ui/live.ts";
import { PREFIX, UiServer } from "../../controllers/ui/server.ts";
import { defaultAssetsDir } from "../../controllers/ui/setup.ts";
import { round } from "./common.ts";

const HOSTS = Number(process.env.UI_BENCH_HOSTS ?? 1000);
const PODS = Number(process.env.UI_BENCH_PODS ?? 10_000);
const NAMESPACES = 100;
const UPDATES = Number(process.env.UI_BENCH_UPDATES ?? 5000);
const CHROMIUM = process.env.PACIFIC_CHROMIUM ?? "/usr/bin/chromium";

class MemorySource<T extends KubeObject> implements Source<T> {
  readonly store = new Store<T>();
  private readonly handlers: Handler<T>[] = [];
  addHandler(h: Handler<T>): void {
    this.handlers.push(h);
  }
  set(o: T): void {
    const old = this.store.set(o);
    for (const h of this.handlers) old ? h.update?.(old, o) : h.add?.(o);
  }
}

const hostName = (i: number) => `esx-${String(i).padStart(4, "0")}`;

export async function ui(): Promise<void> {
  const s = {
    hosts: new MemorySource<ESXiHost>(),
    pods: new MemorySource<V1Pod>(),
    vspherePods: new MemorySource<VSpherePod>(),
    namespaces: new MemorySource<SupervisorNamespace>(),
    events: new MemorySource<EventsV1Event>(),
    reservedOn: () => ({ resources: { cpuMilli: 0, memory: 0, pods: 0 }, objects: 0 }),
  };
  const live = new LiveInventory(s);
  for (let i = 0; i < HOSTS; i++)
    s.hosts.set({
      metadata: { name: hostName(i) },
      spec: {
        clusterName: `cluster-${i % 10}`,
        zone: `zone-${i % 3}`,
        capacity: { cpu: 64, memory: "512Gi", pods: 110 },
        maintenanceMode: false,
      },
      status: { connectionState: "connected" },
    });
  for (let n = 0; n < NAMESPACES; n++)
    s.namespaces.set({
      metadata: { name: `ns-${n}` },
      spec: {
        limits: { cpu: "100", memory: "400Gi" },
        networkIsolation: true,
        podSecurity: "restricted",
        encryption: false,
      },
      status: { configStatus: "Running", usage: { cpu: "50", memory: "100Gi" } },
    });
  const pod = (i: number, phase: string): V1Pod => ({
    metadata: { name: `pod-${i}`, namespace: `ns-${i % NAMESPACES}` },
    spec: {
      nodeName: hostName(i % HOSTS),
      containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: "250m", memory: "512Mi" } } }],
    },
    status: { phase },
  });
  for (let i = 0; i < PODS; i++) s.pods.set(pod(i, "Running"));
  const t0 = performance.now();
  const rows = live.snapshot().length;
  const firstComputeMs = performance.now() - t0;

  const everything: Authenticator & Authorizer = {
    authenticate: async (token: string): Promise<Viewer | undefined> =>
      token === "bench" ? { user: "bench-admin", groups: ["system:masters"], token } : undefined,
    allowed: async () => true,
  };
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "none", server: "https://127.0.0.1:1" }],
    users: [{ name: "none" }],
    contexts: [{ name: "none", cluster: "none", user: "none" }],
    currentContext: "none",
  });
  const server = new UiServer({
    live,
    authn: everything,
    authz: everything,
    kubeConfig: kc,
    namespaces: () => [],
    assetsDir: defaultAssetsDir(),
    log: newLogger("bench-ui", "warn"),
  });
  const httpServer = http.createServer((req, res) => {
    if ((req.url ?? "").startsWith(PREFIX)) void server.handle(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
  const port = (httpServer.address() as { port: number }).port;
  const base = `http://127.0.0.1:${port}${PREFIX}`;

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const login = await ctx.request.post(`${base}api/login`, { data: { token: "bench" } });
    if (!login.ok()) throw new Error(`login: ${login.status()}`);
    // Six loads: the first warms Chromium's caches of the bundle; the figures are the others'.
    const renders: number[] = [];
    const phases: { snapshotArrived: number; committed: number }[] = [];
    let page = await ctx.newPage();
    for (let i = 0; i < 6; i++) {
      if (i > 0) {
        await page.close();
        page = await ctx.newPage();
      }
      await page.goto(`${base}#/hosts`);
      await page.waitForSelector("body[data-first-render-ms]", { timeout: 30_000 });
      await page.waitForSelector(`li.host[data-host="${hostName(0)}"]`);
      if (i > 0) {
        renders.push(Number(await page.getAttribute("body", "data-first-render-ms")));
        phases.push({
          snapshotArrived: Number(await page.getAttribute("body", "data-snapshot-ms")),
          committed: Number(await page.getAttribute("body", "data-commit-ms")),
        });
      }
    }
    const shownHosts = await page.locator("li.host").count();

    // A burst of pod updates (phase flips), as a stream of kubelet-style status changes.
    const bytesBefore = server.stats.bytesSent;
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let u = 0; u < UPDATES; u++) {
      s.pods.set(pod(u % PODS, u % 2 === 0 ? "Pending" : "Running"));
      if (u % 500 === 499) await new Promise((r) => setTimeout(r, 50)); // spread over several flushes
    }
    live.flush();
    // The last update of the burst, made visible: a host failing, seen on the open page.
    const last = hostName(0);
    const failedAt = performance.now();
    s.hosts.set({ ...s.hosts.store.get(last)!, status: { connectionState: "notResponding" } });
    await page.waitForSelector(`li.host[data-host="${last}"][data-state="notResponding"]`, {
      timeout: 10_000,
    });
    const shownAfterMs = performance.now() - failedAt;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const wallMs = performance.now() - wall0;
    const bytesPerUpdate = (server.stats.bytesSent - bytesBefore) / UPDATES;
    const flushes = live.stats.flushes;
    // The page answers while a second burst streams in: time for a click to open a host (this one
    // is not in the CPU figure, which it would blur with the browser driver's work).
    const second = (async () => {
      for (let u = 0; u < UPDATES; u++) {
        s.pods.set(pod(u % PODS, u % 2 === 0 ? "Running" : "Pending"));
        if (u % 250 === 249) await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const c0 = performance.now();
    await page.locator(`li.host[data-host="${hostName(1)}"] button.twisty`).click();
    await page.waitForSelector(`li.host[data-host="${hostName(1)}"] li.pod`);
    const clickMs = performance.now() - c0;
    await second;

    console.log(
      JSON.stringify({
        benchmark: "ui",
        hosts: HOSTS,
        pods: PODS,
        namespaces: NAMESPACES,
        rows,
        serverFirstComputeMs: round(firstComputeMs, 1),
        firstRenderMs: {
          runs: renders,
          median: [...renders].sort((a, b) => a - b)[renders.length >> 1],
          max: Math.max(...renders),
        },
        phasesMs: phases,
        hostsOnPage: shownHosts,
        updates: UPDATES,
        serverCpuMsPerUpdate: round(cpuMs / UPDATES, 4),
        serverCpuMsTotal: round(cpuMs, 1),
        burstWallMs: round(wallMs, 0),
        bytesStreamedPerUpdate: round(bytesPerUpdate, 1),
        lastUpdateOnPageMs: round(shownAfterMs, 0),
        clickToExpandDuringBurstMs: round(clickMs, 0),
        flushes,
        machine: { cores: os.cpus().length, node: process.version, chromium: browser.version() },
      }),
    );
  } finally {
    await browser.close();
    server.close();
    live.stop();
    httpServer.closeAllConnections();
    await new Promise<void>((r) => httpServer.close(() => r()));
  }
}
