// Pacific's own client of the registry's HTTP API (distribution v2): the catalog, tags, manifests and
// manifest deletion, with tokens the manager signs for itself (it holds the signing key). Used to
// measure a project and to empty it when its Supervisor Namespace goes.
import https from "node:https";
import type { Access } from "./scope.ts";

export const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];

export interface Manifest {
  mediaType?: string;
  config?: { digest: string; size: number };
  layers?: Array<{ digest: string; size: number }>;
  manifests?: Array<{ digest: string; size: number; mediaType?: string }>;
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export class RegistryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class RegistryApi {
  private readonly agent: https.Agent;

  constructor(
    readonly host: string,
    ca: string | undefined,
    /** Signs a token for these accesses (the token service's key). */
    private readonly token: (access: Access[]) => string,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 8, ...(ca ? { ca } : {}) });
  }

  /** Every repository name in the registry (the catalog, page by page). */
  async repositories(): Promise<string[]> {
    const out: string[] = [];
    let last = "";
    for (;;) {
      const q = `n=1000${last ? `&last=${encodeURIComponent(last)}` : ""}`;
      const r = await this.send("GET", `/v2/_catalog?${q}`, [
        { type: "registry", name: "catalog", actions: ["*"] },
      ]);
      const page = (JSON.parse(r.body) as { repositories?: string[] }).repositories ?? [];
      out.push(...page);
      if (!r.headers.link || page.length === 0) return out;
      last = page[page.length - 1]!;
    }
  }

  /** The repository's tags; none when it has none or is unknown. */
  async tags(repo: string): Promise<string[]> {
    const r = await this.send("GET", `/v2/${repo}/tags/list`, pull(repo), [404]);
    if (r.status === 404) return [];
    return (JSON.parse(r.body) as { tags?: string[] | null }).tags ?? [];
  }

  /** A manifest by tag or digest, with its digest and size; undefined if it is gone. */
  async manifest(
    repo: string,
    reference: string,
  ): Promise<{ digest: string; size: number; manifest: Manifest } | undefined> {
    const r = await this.send("GET", `/v2/${repo}/manifests/${reference}`, pull(repo), [404], {
      Accept: MANIFEST_TYPES.join(", "),
    });
    if (r.status === 404) return undefined;
    const digest = String(r.headers["docker-content-digest"] ?? reference);
    return { digest, size: Buffer.byteLength(r.body), manifest: JSON.parse(r.body) as Manifest };
  }

  async deleteManifest(repo: string, digest: string): Promise<void> {
    await this.send(
      "DELETE",
      `/v2/${repo}/manifests/${digest}`,
      [{ type: "repository", name: repo, actions: ["delete"] }],
      [404],
    );
  }

  close(): void {
    this.agent.destroy();
  }

  private send(
    method: string,
    path: string,
    access: Access[],
    accept: number[] = [],
    headers: Record<string, string> = {},
  ): Promise<Response> {
    return new Promise((resolve, reject) => {
      const [hostname, port] = this.host.split(":");
      const req = https.request(
        {
          method,
          hostname,
          port: port ? Number(port) : 443,
          path,
          agent: this.agent,
          timeout: 15_000,
          headers: { ...headers, Authorization: `Bearer ${this.token(access)}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const body = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if ((status >= 200 && status < 300) || accept.includes(status))
              resolve({ status, headers: res.headers, body });
            else
              reject(
                new RegistryError(status, `registry ${method} ${path}: ${status} ${body.slice(0, 300)}`),
              );
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`registry ${method} ${path}: timed out`)));
      req.on("error", reject);
      req.end();
    });
  }
}

const pull = (repo: string): Access[] => [{ type: "repository", name: repo, actions: ["pull"] }];
