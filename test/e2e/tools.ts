// The upstream binaries the e2e tests drive (built by hack/build-tools.sh): helm and kubectl.
import { execFile, execFileSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");

function toolDir(tool: "helm" | "kubernetes"): string {
  return execFileSync("bash", [join(root, "hack", "build-tools.sh"), "--print-dir", tool], {
    encoding: "utf8",
  }).trim();
}

let dirs: { helm: string; kubernetes: string } | undefined;
function bin(name: "helm" | "kubectl"): string {
  dirs ??= { helm: toolDir("helm"), kubernetes: toolDir("kubernetes") };
  return join(name === "helm" ? dirs.helm : dirs.kubernetes, name);
}

/** Runs a tool against KUBECONFIG; throws with its stderr when it fails. */
function run(name: "helm" | "kubectl", args: string[], input?: string): string {
  try {
    return execFileSync(bin(name), args, {
      cwd: root,
      encoding: "utf8",
      input,
      stdio: ["pipe", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${name} ${args.join(" ")}: ${err.stderr || err.stdout || err.message}`);
  }
}

export const helm = (...args: string[]): string => run("helm", args);

/**
 * helm without blocking the event loop: a manager running in the test process keeps reconciling
 * (and its hosts heartbeating) while `helm install --wait` waits for what that manager runs.
 */
export function helmAsync(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      bin("helm"),
      args,
      { cwd: root, encoding: "utf8", maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`helm ${args.join(" ")}: ${stderr || stdout || err.message}`));
        else resolve(stdout);
      },
    );
  });
}
export const kubectl = (args: string[], input?: string): string => run("kubectl", args, input);

export const CHART = join(root, "charts", "pacific");
export const RELEASE = "pacific";
export const RELEASE_NAMESPACE = "pacific-system";

/**
 * Installs (or upgrades) the chart as the e2e suites use it: everything but the manager
 * (replicas=0), which the suites run in-process with the chart's ServiceAccount token.
 */
export function installChart(...extra: string[]): string {
  const out = helm(
    "upgrade",
    "--install",
    RELEASE,
    CHART,
    "--namespace",
    RELEASE_NAMESPACE,
    "--create-namespace",
    "--set",
    "replicas=0",
    "--wait",
    "--timeout",
    "2m",
    ...extra,
  );
  // Until the (re-)created RBAC and the chart's kinds are in effect, a manager would meet 403s.
  execFileSync("bash", [join(root, "hack", "manager.sh"), "wait-ready"], { stdio: "pipe" });
  return out;
}
