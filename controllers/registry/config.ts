// The Registry Service's settings: where the registry is, how to trust it, the token service's
// address and keys. From environment variables (flags of the same meaning are not needed: the chart
// and hack/registry.sh write these). Absent PACIFIC_REGISTRY_HOST: no registry, and the registry
// controller only keeps the image policy.
import { readFileSync } from "node:fs";
import { parseDuration } from "../settings.ts";

export interface RegistryConfig {
  /** host[:port] the registry serves on, and the prefix of its images ("127.0.0.1:25000"). */
  host: string;
  /** CA bundle (PEM) to verify the registry's TLS certificate; absent: the system's. */
  caFile?: string;
  /** The `service` the registry names in its challenge; the tokens' audience. */
  service: string;
  /** The tokens' `iss`; the registry's auth.token.issuer. */
  issuer: string;
  signingKeyFile: string;
  /** The signing key's certificate: the registry's rootcertbundle (tokens name it by key ID). */
  signingCertFile: string;
  /** host:port of the token endpoint (GET /service/token) and the notifications endpoint. */
  tokenAddress: string;
  /** TLS for the token endpoint; without, it serves plain HTTP (behind a TLS-terminating Service). */
  tokenTlsCertFile?: string;
  tokenTlsKeyFile?: string;
  /** The bearer token the registry's notifications carry; absent: notifications are refused. */
  notifyTokenFile?: string;
  /** Run after a project's manifests are deleted, with the project appended (the registry's garbage-collect). */
  gcCommand?: string[];
  /** Lifetime of an access token (the spec's expires_in). */
  tokenTtlMs: number;
  /** Lifetime of a pull secret's robot credential; rotated when a third of it is left. */
  robotTtlMs: number;
  /** How often a project's repositories and storage are measured. */
  usageIntervalMs: number;
}

/** The settings environment variables mean (pure); undefined without PACIFIC_REGISTRY_HOST. */
export function registryConfigFromEnv(env: Record<string, string | undefined>): RegistryConfig | undefined {
  const host = env.PACIFIC_REGISTRY_HOST;
  if (!host) return undefined;
  const need = (k: string): string => {
    const v = env[k];
    if (!v) throw new Error(`${k} is required with PACIFIC_REGISTRY_HOST`);
    return v;
  };
  if (!/^[a-z0-9.-]+(:[0-9]{1,5})?$/.test(host))
    throw new Error(`PACIFIC_REGISTRY_HOST must be host[:port], not ${JSON.stringify(host)}`);
  const gc = env.PACIFIC_REGISTRY_GC_COMMAND?.trim();
  return {
    host,
    caFile: env.PACIFIC_REGISTRY_CA_FILE || undefined,
    service: env.PACIFIC_REGISTRY_SERVICE || "pacific-registry",
    issuer: env.PACIFIC_REGISTRY_ISSUER || "pacific-token-service",
    signingKeyFile: need("PACIFIC_REGISTRY_SIGNING_KEY_FILE"),
    signingCertFile: need("PACIFIC_REGISTRY_SIGNING_CERT_FILE"),
    tokenAddress: env.PACIFIC_REGISTRY_TOKEN_ADDRESS || "0.0.0.0:8443",
    tokenTlsCertFile: env.PACIFIC_REGISTRY_TOKEN_TLS_CERT_FILE || undefined,
    tokenTlsKeyFile: env.PACIFIC_REGISTRY_TOKEN_TLS_KEY_FILE || undefined,
    notifyTokenFile: env.PACIFIC_REGISTRY_NOTIFY_TOKEN_FILE || undefined,
    gcCommand: gc ? gc.split(/\s+/) : undefined,
    tokenTtlMs: parseDuration(env.PACIFIC_REGISTRY_TOKEN_TTL || "5m"),
    robotTtlMs: parseDuration(env.PACIFIC_REGISTRY_ROBOT_TTL || "24h"),
    usageIntervalMs: parseDuration(env.PACIFIC_REGISTRY_USAGE_INTERVAL || "30s"),
  };
}

/** KEY=value lines (hack/registry.sh's manager.env), values optionally double-quoted. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
  }
  return out;
}

export function readTrimmed(file: string): string {
  return readFileSync(file, "utf8").trim();
}
