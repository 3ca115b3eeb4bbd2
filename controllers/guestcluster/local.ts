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
import { join } from "node:path";
import {
  COMPONENTS,
  type Component,
  type ControlPlaneLayout,
  componentArgs,
  controlPlaneFiles,
  type EnsureResult,
  GUEST_API_PORT,
  type GuestRuntime,
  type GuestSpec,
} from "./controlplane.ts";
import { type GuestEndpoint, guestApply, guestExists, guestReady, guestVersion } from "./probe.ts";

export {
  COMPONENTS,
  type Component,
  type EnsureResult,
  firstServiceIp,
  GUEST_API_PORT,
  type GuestSpec,
} from "./controlplane.ts";

export interface LocalRuntimeOptions {
  stateDir: string;
  /** Directory of kube-apiserver, kube-controller-manager, kube-scheduler. */
  kubernetesBin: string;
  /** Directory of etcd. */
  etcdBin: string;
}

/** Refuses anything but 127.0.0.0/8: the local runtime must never bind or dial another network. */
export function assertLoopback(ip: string): void {
  if (!/^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip))
    throw new Error(`the local guest runtime needs a loopback VIP (127.0.0.0/8), got ${ip}`);
}

/**
 * The guest processes' environment: the manager's, with the Go garbage collector collecting at 40 %
 * heap growth instead of 100 %. A guest's heaps are small and its load light, so the extra GC work
 * is little, and the peak heap (what RSS follows) shrinks (docs/guest-clusters.md, Measured).
 */
function guestEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOGC: process.env.PACIFIC_GUEST_GOGC ?? "40" };
}

export class LocalGuestRuntime implements GuestRuntime {
  readonly loopbackOnly = true;

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
      this.start(dir, c, localArgs(spec, dir, c));
      result.started.push(c);
    }
    return result;
  }

  /** GET /readyz on the guest API server, as its admin, trusting only the guest's CA. */
  ready(spec: GuestSpec, timeoutMs = 2000): Promise<boolean> {
    return guestReady(this.endpoint(spec), timeoutMs);
  }

  /** The gitVersion the guest API server's /version reports, or undefined when it does not answer. */
  version(spec: GuestSpec, timeoutMs = 2000): Promise<string | undefined> {
    return guestVersion(this.endpoint(spec), timeoutMs);
  }

  /**
   * Server-side apply of `obj` at `path` with `fieldManager` (force: the add-ons are ours); throws
   * with the API server's answer when it refuses.
   */
  apply(spec: GuestSpec, path: string, obj: object, fieldManager: string): Promise<void> {
    return guestApply(this.endpoint(spec), path, obj, fieldManager);
  }

  /** Whether the object at `path` exists in the guest; undefined when the guest does not answer. */
  exists(spec: GuestSpec, path: string): Promise<boolean | undefined> {
    return guestExists(this.endpoint(spec), path);
  }

  /** The guest's address and its admin credentials from pki/; undefined before pki/ is written. */
  private endpoint(spec: GuestSpec): GuestEndpoint | undefined {
    assertLoopback(spec.vip);
    const pki = join(this.dirOf(spec.namespace, spec.name), "pki");
    if (!existsSync(join(pki, "done"))) return undefined;
    return {
      host: spec.vip,
      ca: readFileSync(join(pki, "ca.crt")),
      cert: readFileSync(join(pki, "admin.crt")),
      key: readFileSync(join(pki, "admin.key")),
    };
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
    const files = await controlPlaneFiles(spec, localLayout(spec, dir));
    for (const [f, content] of Object.entries(files.pki))
      writeFileSync(join(pki, f), content, { mode: 0o600 });
    for (const [f, content] of Object.entries(files.config))
      writeFileSync(join(dir, f), content, { mode: f.endsWith(".kubeconfig") ? 0o600 : 0o644 });
    writeFileSync(join(pki, "done"), ""); // last: a half-written pki/ is rewritten on the next ensure
  }
}

/** Files in <dir>/pki and <dir>; addresses: everything on the guest's loopback VIP. */
export function localLayout(spec: GuestSpec, dir: string): ControlPlaneLayout {
  return {
    pki: (f) => join(dir, "pki", f),
    config: (f) => join(dir, f),
    etcdDataDir: join(dir, "etcd"),
    etcdAddress: spec.vip,
    bindAddress: spec.vip,
    internalServer: `https://${spec.vip}:${GUEST_API_PORT}`,
  };
}

/** The command line of a local guest's component `c`, its state in `dir`. */
export function localArgs(spec: GuestSpec, dir: string, c: Component): string[] {
  const args = componentArgs(spec, localLayout(spec, dir), c);
  // Local only: a guest's etcd here is a test fixture on a shared disk, so fsync's latency buys
  // nothing (the pods runtime keeps fsync: its etcd is on a PVC and must survive a node crash).
  return c === "etcd" ? [...args, "--unsafe-no-fsync"] : args;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
