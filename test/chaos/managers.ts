// The Pacific managers under test: real processes (the compiled manager, as the image runs it) with
// the chart ServiceAccount's kubeconfig, leader election on, a short watch watchdog so a stalled API
// server is noticed within the run. They can be SIGKILLed at any moment; like a Deployment's pods,
// they are restarted whenever they exit (killed, or on their own: a lost lease is fatal).
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";

export class ManagerProc {
  private child: ChildProcess | undefined;
  private stopped = true;
  private restartTimer: NodeJS.Timeout | undefined;
  kills = 0;
  /** Exits the suite did not cause (a lost lease is fatal by design): the restart policy brings it back. */
  selfExits = 0;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly root: string,
    private readonly kubeconfig: string,
    private readonly logFile: string,
    /** The delay before a restart, as a kubelet's restartPolicy Always would wait. */
    private readonly restartDelay: () => number,
    /** More environment: the guest runtime's settings, paths and binaries. */
    private readonly extraEnv: Record<string, string> = {},
  ) {}

  start(): void {
    this.stopped = false;
    clearTimeout(this.restartTimer);
    if (this.running()) return;
    const log = openSync(this.logFile, "a");
    const child = spawn(
      process.execPath,
      [
        join(this.root, "dist", "controllers", "main.js"),
        `--kubeconfig=${this.kubeconfig}`,
        "--leader-elect=true",
        `--bind-address=127.0.0.1:${this.port}`,
        "--watch-timeout=10s",
        `--log-level=${process.env.PACIFIC_CHAOS_LOG_LEVEL ?? "error"}`,
      ],
      {
        stdio: ["ignore", log, log],
        env: { ...process.env, PACIFIC_VM_BOOT_DELAY: "0s", PACIFIC_POD_START_DELAY: "0s", ...this.extraEnv },
      },
    );
    closeSync(log);
    this.child = child;
    let killed = false;
    this.killMark = () => {
      killed = true;
    };
    child.once("exit", () => {
      if (this.stopped) return;
      if (!killed) this.selfExits++;
      this.restartTimer = setTimeout(() => this.start(), this.restartDelay());
    });
  }

  private killMark: () => void = () => undefined;

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL; false when it was not running. */
  kill(): boolean {
    if (!this.running()) return false;
    this.killMark();
    this.child!.kill("SIGKILL");
    this.kills++;
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    if (!this.running()) return;
    const exited = new Promise((r) => this.child!.once("exit", r));
    this.child!.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 40_000))]);
    if (this.running()) this.child!.kill("SIGKILL");
  }

  /** Whether this replica holds the leader Lease (its leader_election_master_status). */
  async leads(): Promise<boolean> {
    if (!this.running()) return false;
    try {
      const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
      return /^leader_election_master_status\{[^}]*\} 1$/m.test(text);
    } catch {
      return false;
    }
  }

  /** rest_client_requests_total{code="403"} of this process's life. */
  async forbidden(): Promise<number> {
    try {
      const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
      return [...text.matchAll(/^rest_client_requests_total\{code="403"[^}]*\} (\d+)/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
    } catch {
      return 0;
    }
  }
}
