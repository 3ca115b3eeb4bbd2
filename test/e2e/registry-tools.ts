// The local Registry Service (hack/registry.sh) as tests and benchmarks use it: its settings, skopeo
// (Debian's; a client nobody here wrote) and plain HTTPS requests that trust the local cluster's CA.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  parseEnvFile,
  type RegistryConfig,
  registryConfigFromEnv,
} from "../../controllers/registry/config.ts";
import { root } from "./kube.ts";

export const clusterState = process.env.PACIFIC_CLUSTER_DIR ?? join(root, ".cluster");
export const registryState = join(clusterState, "registry");

/** The manager's settings for the local registry, or undefined when hack/registry.sh did not start one. */
export function localRegistryConfig(): RegistryConfig | undefined {
  const f = join(registryState, "manager.env");
  return existsSync(f) ? registryConfigFromEnv(parseEnvFile(readFileSync(f, "utf8"))) : undefined;
}

/** A directory with the CA as skopeo's --cert-dir wants it (ca.crt). */
export function certDir(caFile: string): string {
  const d = mkdtempSync(join(tmpdir(), "pacific-certs-"));
  writeFileSync(join(d, "ca.crt"), readFileSync(caFile));
  return d;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function skopeo(args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      "skopeo",
      // Credentials come only from the arguments: no auth file of this machine's user.
      ["--registries-conf", "/dev/null", ...args],
      {
        timeout: timeoutMs,
        maxBuffer: 16 << 20,
        env: { ...process.env, REGISTRY_AUTH_FILE: "/dev/null/none" },
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}

export interface HttpsResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function httpsRequest(
  url: string,
  ca: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: o.method ?? "GET", headers: o.headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(o.body);
  });
}

export const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** The error codes of a registry error document ({"errors":[{"code":..}]}). */
export function errorCodes(body: string): string[] {
  try {
    return ((JSON.parse(body) as { errors?: Array<{ code: string }> }).errors ?? []).map((e) => e.code);
  } catch {
    return [];
  }
}
