// The Registry Service's metrics, in the manager's registry (/metrics).
import { Counter, Gauge, Histogram } from "prom-client";
import type { Metrics } from "../runtime/metrics.ts";

export const TOKEN_RESULTS = ["granted", "partial", "denied", "unauthorized", "error"] as const;
export type TokenResult = (typeof TOKEN_RESULTS)[number];

export class RegistryMetrics {
  readonly tokenRequests: Counter<"result">;
  readonly tokenDuration: Histogram<"result">;
  readonly pushes: Counter<"project">;
  readonly storage: Gauge<"project">;
  readonly repositories: Gauge<"project">;

  constructor(m: Metrics) {
    const registers = [m.registry];
    this.tokenRequests = new Counter({
      name: "pacific_registry_token_requests_total",
      help: "Token service requests by result: granted (all asked), partial, denied (nothing granted), unauthorized (no or bad credentials), error",
      labelNames: ["result"] as const,
      registers,
    });
    for (const r of TOKEN_RESULTS) this.tokenRequests.inc({ result: r }, 0);
    this.tokenDuration = new Histogram({
      name: "pacific_registry_token_request_duration_seconds",
      help: "Time to answer a token request (authentication and authorization included)",
      labelNames: ["result"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    for (const r of TOKEN_RESULTS) this.tokenDuration.zero({ result: r });
    this.pushes = new Counter({
      name: "pacific_registry_pushes_total",
      help: "Manifests pushed to the registry, per project (from the registry's notifications)",
      labelNames: ["project"] as const,
      registers,
    });
    this.storage = new Gauge({
      name: "pacific_registry_storage_bytes",
      help: "Bytes a project's images take in the registry (distinct blobs)",
      labelNames: ["project"] as const,
      registers,
    });
    this.repositories = new Gauge({
      name: "pacific_registry_repositories",
      help: "Repositories with at least one tag, per project",
      labelNames: ["project"] as const,
      registers,
    });
  }

  /** A project's series, there from its first measurement (at zero pushes until a push). */
  measured(project: string, bytes: number, repositories: number): void {
    this.storage.set({ project }, bytes);
    this.repositories.set({ project }, repositories);
    this.pushes.inc({ project }, 0);
  }

  forget(project: string): void {
    this.pushes.remove({ project });
    this.storage.remove({ project });
    this.repositories.remove({ project });
  }
}
