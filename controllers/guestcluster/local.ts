// The `local` guest-cluster runtime: a guest's control plane as local processes of the same upstream
// binaries hack/cluster.sh runs (etcd, kube-apiserver, kube-controller-manager, kube-scheduler).
// Every process binds the guest's control-plane VIP, which for this runtime is a loopback address
// (127.0.100.0/24: Linux answers the whole of 127/8 on `lo`), so guests never share a port.
// State per guest lives in <stateDir>/<namespace>/<name>/: pki/, etcd/, <component>.log and
// <component>.pid. A restarted manager reads the pid files and adopts what still runs (the pid must
// still be our binary with this guest's directory on its command line: pids are reused); what died
// is started again. Stopping kills exactly those pids and removes the directory.
import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { serviceIp } from "./decide.ts";
import { type ClusterPki, signLeaf } from "./pki.ts";
import { renderKubeconfig } from "./secrets.ts";

export const GUEST_API_PORT = 6443;
const ETCD_PORT = 2379;
const ETCD_PEER_PORT = 2380;
const KCM_PORT = 10257;
const SCHEDULER_PORT = 10259;

export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;
export type Component = (typeof COMPONENTS)[number];

export interface GuestSpec {
  namespace: string;
  name: string;
  /** The control-plane endpoint's address: must be loopback for this runtime. */
  vip: string;
  pki: ClusterPki;
  /** The guest's Service CIDR (the TKC's spec.settings.network.services). */
  serviceCidr: string;
  /** The guest's pod CIDR (the TKC's spec.settings.network.pods): KCM allocates node pod CIDRs from it. */
  podCidr: string;
}

export interface LocalRuntimeOptions {
  stateDir: string;
  /** Directory of kube-apiserver, kube-controller-manager, kube-scheduler. */
  kubernetesBin: string;
  /** Directory of etcd. */
  etcdBin: string;
}

export interface EnsureResult {
  adopted: Component[];
  started: Component[];
  /** Not started yet: they wait for the API server. */
  pending: Component[];
}

/** Refuses anything but 127.0.0.0/8: the local runtime must never bind or dial another network. */
export function assertLoopback(ip: string): void {
  if (!/^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip))
    throw new Error(`the local guest runtime needs a loopback VIP (127.0.0.0/8), got ${ip}`);
}

/** The first address of a CIDR + 1: the `kubernetes` Service's ClusterIP, a SAN of the serving cert. */
export const firstServiceIp = (cidr: string): string => serviceIp(cidr, 1);

/**
 * The guest processes' environment: the manager's, with the Go garbage collector collecting at 40 %
 * heap growth instead of 100 %. A guest's heaps are small and its load light, so the extra GC work
 * is little, and the peak heap (what RSS follows) shrinks (docs/guest-clusters.md, Measured).
 */
function guestEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOGC: process.env.PACIFIC_GUEST_GOGC ?? "40" };
}

export class LocalGuestRuntime {
  constructor(private readonly opts: LocalRuntimeOptions) {}

  dirOf(namespace: string, name: string): string {
    return join(this.opts.stateDir, namespace, name);
  }

  /** The pid of a component of this guest that runs, or undefined (no pid file, dead, or pid reused). */
  pidOf(namespace: string, name: string, c: Component): number | undefined {
    const dir = this.dirOf(namespace, name);
    let pid: number;
    try {
      pid = Number(readFileSync(join(dir, `${c}.pid`), "utf8").trim());
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      if (!cmdline[0]?.endsWith(`/${c}`) || !cmdline.some((a) => a.includes(dir))) return undefined;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (/\) Z /.test(stat)) return undefined; // a zombie is dead
    } catch {
      return undefined;
    }
    return pid;
  }

  /**
   * Starts what of the guest is not running; adopts what is. Idempotent. The controller-manager and
   * the scheduler start only once the API server answers /readyz: started earlier, they exit at once
   * (they read the request-header CA from kube-system at startup) — so call again until `pending` is empty.
   */
  async ensure(spec: GuestSpec): Promise<EnsureResult> {
    assertLoopback(spec.vip);
    const dir = this.dirOf(spec.namespace, spec.name);
    mkdirSync(join(dir, "etcd"), { recursive: true, mode: 0o700 });
    if (!existsSync(join(dir, "pki", "done"))) await this.writePki(spec, dir);
    const result: EnsureResult = { adopted: [], started: [], pending: [] };
    let apiReady: boolean | undefined;
    for (const c of COMPONENTS) {
      if (this.pidOf(spec.namespace, spec.name, c) !== undefined) {
        result.adopted.push(c);
        continue;
      }
      if (c === "kube-controller-manager" || c === "kube-scheduler") {
        apiReady ??= await this.ready(spec);
        if (!apiReady) {
          result.pending.push(c);
          continue;
        }
      }
      this.start(dir, c, this.argsOf(spec, dir, c));
      result.started.push(c);
    }
    return result;
  }

  /** GET /readyz on the guest API server, as its admin, trusting only the guest's CA. */
  async ready(spec: GuestSpec, timeoutMs = 2000): Promise<boolean> {
    return (await this.get(spec, "/readyz", timeoutMs))?.status === 200;
  }

  /** The gitVersion the guest API server's /version reports, or undefined when it does not answer. */
  async version(spec: GuestSpec, timeoutMs = 2000): Promise<string | undefined> {
    const r = await this.get(spec, "/version", timeoutMs);
    if (r?.status !== 200) return undefined;
    try {
      const v = (JSON.parse(r.body) as { gitVersion?: unknown }).gitVersion;
      return typeof v === "string" && v ? v : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Server-side apply of `obj` at `path` with `fieldManager` (force: the add-ons are ours); throws
   * with the API server's answer when it refuses.
   */
  async apply(spec: GuestSpec, path: string, obj: object, fieldManager: string): Promise<void> {
    const q = `?fieldManager=${encodeURIComponent(fieldManager)}&force=true`;
    const r = await this.call(spec, "PATCH", `${path}${q}`, 5000, {
      body: JSON.stringify(obj),
      contentType: "application/apply-patch+yaml",
    });
    if (r?.status !== 200 && r?.status !== 201)
      throw new Error(`apply ${path}: ${r ? `${r.status} ${r.body.slice(0, 300)}` : "no answer"}`);
  }

  /** Whether the object at `path` exists in the guest; undefined when the guest does not answer. */
  async exists(spec: GuestSpec, path: string): Promise<boolean | undefined> {
    const r = await this.call(spec, "GET", path, 2000);
    if (r?.status === 200) return true;
    if (r?.status === 404) return false;
    return undefined;
  }

  private get(spec: GuestSpec, path: string, timeoutMs: number) {
    return this.call(spec, "GET", path, timeoutMs);
  }

  /** A request to the guest API server as its admin (client certificate), trusting only the guest's CA. */
  private async call(
    spec: GuestSpec,
    method: string,
    path: string,
    timeoutMs: number,
    send?: { body: string; contentType: string },
  ): Promise<{ status: number; body: string } | undefined> {
    assertLoopback(spec.vip);
    const pki = join(this.dirOf(spec.namespace, spec.name), "pki");
    if (!existsSync(join(pki, "done"))) return undefined;
    return new Promise((resolve) => {
      const req = request(
        {
          host: spec.vip,
          port: GUEST_API_PORT,
          method,
          path,
          ca: readFileSync(join(pki, "ca.crt")),
          cert: readFileSync(join(pki, "admin.crt")),
          key: readFileSync(join(pki, "admin.key")),
          timeout: timeoutMs,
          headers: send
            ? { "Content-Type": send.contentType, "Content-Length": Buffer.byteLength(send.body) }
            : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => {
            if (chunks.length < 64) chunks.push(c); // answers here are small; bound them anyway
          });
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", () => resolve(undefined));
        },
      );
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(undefined));
      req.end(send?.body);
    });
  }

  /** Kills exactly this guest's processes (TERM, then KILL after 10 s) and removes its directory. */
  async stop(namespace: string, name: string): Promise<void> {
    for (const c of [...COMPONENTS].reverse()) {
      const pid = this.pidOf(namespace, name, c);
      if (pid === undefined) continue;
      try {
        process.kill(pid, "SIGCONT");
        process.kill(pid, "SIGTERM");
      } catch {}
      for (let i = 0; i < 100 && this.pidOf(namespace, name, c) !== undefined; i++) await sleep(100);
      try {
        if (this.pidOf(namespace, name, c) !== undefined) process.kill(pid, "SIGKILL");
      } catch {}
    }
    rmSync(this.dirOf(namespace, name), { recursive: true, force: true });
  }

  /** Resident memory of the guest's processes, bytes (from /proc/<pid>/status VmRSS). */
  rssBytes(namespace: string, name: string): number {
    let total = 0;
    for (const c of COMPONENTS) {
      const pid = this.pidOf(namespace, name, c);
      if (pid === undefined) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      total += Number(m?.[1] ?? 0) * 1024;
    }
    return total;
  }

  private start(dir: string, c: Component, args: string[]): void {
    const bin = c === "etcd" ? join(this.opts.etcdBin, "etcd") : join(this.opts.kubernetesBin, c);
    const log = openSync(join(dir, `${c}.log`), "a");
    // detached: its own session, so it outlives the manager (adoption) and gets no terminal signals.
    const child = spawn(bin, args, { detached: true, stdio: ["ignore", log, log], env: guestEnv() });
    closeSync(log);
    if (child.pid === undefined) throw new Error(`could not start ${bin}`);
    writeFileSync(join(dir, `${c}.pid`), `${child.pid}\n`);
    child.unref();
  }

  private async writePki(spec: GuestSpec, dir: string): Promise<void> {
    const pki = join(dir, "pki");
    mkdirSync(pki, { recursive: true, mode: 0o700 });
    const { ca, etcd, proxy, sa } = spec.pki;
    const svcIp = firstServiceIp(spec.serviceCidr);
    const [apiserver, etcdServer, etcdClient, proxyClient, admin, kcm, scheduler] = await Promise.all([
      signLeaf(ca, {
        commonName: "kube-apiserver",
        usage: "server",
        dnsNames: [
          "kubernetes",
          "kubernetes.default",
          "kubernetes.default.svc",
          "kubernetes.default.svc.cluster.local",
          "localhost",
        ],
        ips: [spec.vip, svcIp],
      }),
      signLeaf(etcd, { commonName: "etcd-server", usage: "both", dnsNames: ["localhost"], ips: [spec.vip] }),
      signLeaf(etcd, { commonName: "kube-apiserver-etcd-client", usage: "client" }),
      signLeaf(proxy, { commonName: "front-proxy-client", usage: "client" }),
      signLeaf(ca, { commonName: "kubernetes-admin", organizations: ["system:masters"], usage: "client" }),
      signLeaf(ca, { commonName: "system:kube-controller-manager", usage: "client" }),
      signLeaf(ca, { commonName: "system:kube-scheduler", usage: "client" }),
    ]);
    const files: Record<string, string> = {
      "ca.crt": ca.cert,
      "ca.key": ca.key,
      "etcd-ca.crt": etcd.cert,
      "front-proxy-ca.crt": proxy.cert,
      "sa.pub": sa.cert,
      "sa.key": sa.key,
      "apiserver.crt": apiserver.cert,
      "apiserver.key": apiserver.key,
      "etcd-server.crt": etcdServer.cert,
      "etcd-server.key": etcdServer.key,
      "etcd-client.crt": etcdClient.cert,
      "etcd-client.key": etcdClient.key,
      "front-proxy-client.crt": proxyClient.cert,
      "front-proxy-client.key": proxyClient.key,
      "admin.crt": admin.cert,
      "admin.key": admin.key,
    };
    for (const [f, content] of Object.entries(files)) writeFileSync(join(pki, f), content, { mode: 0o600 });
    const server = `https://${spec.vip}:${GUEST_API_PORT}`;
    const cluster = spec.name;
    writeFileSync(
      join(dir, "admin.kubeconfig"),
      renderKubeconfig(cluster, server, ca.cert, "kubernetes-admin", admin),
      { mode: 0o600 },
    );
    writeFileSync(
      join(dir, "kube-controller-manager.kubeconfig"),
      renderKubeconfig(cluster, server, ca.cert, "system:kube-controller-manager", kcm),
      { mode: 0o600 },
    );
    writeFileSync(
      join(dir, "kube-scheduler.kubeconfig"),
      renderKubeconfig(cluster, server, ca.cert, "system:kube-scheduler", scheduler),
      { mode: 0o600 },
    );
    writeFileSync(
      join(dir, "kube-scheduler.yaml"),
      `apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection:\n  kubeconfig: ${join(dir, "kube-scheduler.kubeconfig")}\nleaderElection:\n  leaderElect: false\n`,
    );
    writeFileSync(join(pki, "done"), ""); // last: a half-written pki/ is rewritten on the next ensure
  }

  private argsOf(spec: GuestSpec, dir: string, c: Component): string[] {
    const p = (f: string) => join(dir, "pki", f);
    const vip = spec.vip;
    switch (c) {
      case "etcd":
        return [
          "--name",
          spec.name,
          "--data-dir",
          join(dir, "etcd"),
          "--listen-client-urls",
          `https://${vip}:${ETCD_PORT}`,
          "--advertise-client-urls",
          `https://${vip}:${ETCD_PORT}`,
          "--listen-peer-urls",
          `http://${vip}:${ETCD_PEER_PORT}`,
          "--initial-advertise-peer-urls",
          `http://${vip}:${ETCD_PEER_PORT}`,
          "--initial-cluster",
          `${spec.name}=http://${vip}:${ETCD_PEER_PORT}`,
          "--cert-file",
          p("etcd-server.crt"),
          "--key-file",
          p("etcd-server.key"),
          "--client-cert-auth",
          "--trusted-ca-file",
          p("etcd-ca.crt"),
          "--unsafe-no-fsync",
          "--log-level",
          "warn",
          "--quota-backend-bytes",
          String(256 * 1024 * 1024),
        ];
      case "kube-apiserver":
        return [
          "--etcd-servers",
          `https://${vip}:${ETCD_PORT}`,
          "--etcd-cafile",
          p("etcd-ca.crt"),
          "--etcd-certfile",
          p("etcd-client.crt"),
          "--etcd-keyfile",
          p("etcd-client.key"),
          "--bind-address",
          vip,
          "--secure-port",
          String(GUEST_API_PORT),
          "--advertise-address",
          vip,
          "--endpoint-reconciler-type",
          "none",
          "--tls-cert-file",
          p("apiserver.crt"),
          "--tls-private-key-file",
          p("apiserver.key"),
          "--client-ca-file",
          p("ca.crt"),
          "--requestheader-client-ca-file",
          p("front-proxy-ca.crt"),
          "--proxy-client-cert-file",
          p("front-proxy-client.crt"),
          "--proxy-client-key-file",
          p("front-proxy-client.key"),
          "--requestheader-allowed-names",
          "front-proxy-client",
          "--requestheader-username-headers",
          "X-Remote-User",
          "--requestheader-group-headers",
          "X-Remote-Group",
          "--requestheader-extra-headers-prefix",
          "X-Remote-Extra-",
          "--authorization-mode",
          "Node,RBAC",
          "--service-account-key-file",
          p("sa.pub"),
          "--service-account-signing-key-file",
          p("sa.key"),
          "--service-account-issuer",
          "https://kubernetes.default.svc.cluster.local",
          "--service-cluster-ip-range",
          spec.serviceCidr,
          "--allow-privileged=true",
          "--profiling=false",
          // A guest holds a few hundred objects: reads from etcd cost it little, while the watch
          // cache's per-resource rings and indexes are a good part of an idle API server's heap.
          "--watch-cache=false",
        ];
      case "kube-controller-manager":
        return [
          "--kubeconfig",
          join(dir, "kube-controller-manager.kubeconfig"),
          "--authentication-kubeconfig",
          join(dir, "kube-controller-manager.kubeconfig"),
          "--authorization-kubeconfig",
          join(dir, "kube-controller-manager.kubeconfig"),
          "--bind-address",
          vip,
          "--secure-port",
          String(KCM_PORT),
          "--service-account-private-key-file",
          p("sa.key"),
          "--root-ca-file",
          p("ca.crt"),
          "--cluster-signing-cert-file",
          p("ca.crt"),
          "--cluster-signing-key-file",
          p("ca.key"),
          "--allocate-node-cidrs=true",
          "--cluster-cidr",
          spec.podCidr,
          "--service-cluster-ip-range",
          spec.serviceCidr,
          "--use-service-account-credentials=true",
          "--controllers",
          "*",
          "--leader-elect=false",
          "--profiling=false",
        ];
      case "kube-scheduler":
        return [
          "--config",
          join(dir, "kube-scheduler.yaml"),
          "--authentication-kubeconfig",
          join(dir, "kube-scheduler.kubeconfig"),
          "--authorization-kubeconfig",
          join(dir, "kube-scheduler.kubeconfig"),
          "--bind-address",
          vip,
          "--secure-port",
          String(SCHEDULER_PORT),
          "--profiling=false",
        ];
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
