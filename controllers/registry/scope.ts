// The token specification's scopes ("repository:dev-ns/app:pull,push") and the decision of what a
// caller gets. Pure functions: the token service does the I/O (TokenReview, SubjectAccessReview).

export type Action = "pull" | "push";

export interface Scope {
  type: string;
  /** The repository name ("dev-ns/app"). */
  name: string;
  actions: string[];
}

/** An entry of the token's `access` claim. */
export interface Access {
  type: string;
  name: string;
  actions: string[];
}

/**
 * Parses `scope` query values; each may hold several space-separated scopes. A repository name may
 * hold a port-less host but never a colon, so the last colon splits off the actions.
 */
export function parseScopes(values: string[]): Scope[] {
  const out: Scope[] = [];
  for (const v of values)
    for (const s of v.split(" ").filter(Boolean)) {
      const first = s.indexOf(":");
      const last = s.lastIndexOf(":");
      if (first < 0 || last === first) continue;
      out.push({
        type: s.slice(0, first),
        name: s.slice(first + 1, last),
        actions: s
          .slice(last + 1)
          .split(",")
          .filter(Boolean),
      });
    }
  return out;
}

/** The project (Supervisor Namespace) a repository belongs to: its first path component. */
export function projectOf(repository: string): string | undefined {
  const i = repository.indexOf("/");
  if (i <= 0) return undefined;
  const p = repository.slice(0, i);
  return /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p) ? p : undefined;
}

/** What the caller may do in a project (from SubjectAccessReviews or a robot credential). */
export interface ProjectRights {
  pull: boolean;
  push: boolean;
}

export interface Decision {
  access: Access[];
  /** Requested actions not granted, as "repository:dev-ns/app:push". */
  denied: string[];
}

/**
 * Grants each requested repository action the caller's rights in its project allow, and nothing
 * else (registry:catalog:*, other types, `*` and unknown actions are never granted to callers).
 * A project over its storage quota grants no push.
 */
export function decide(
  scopes: Scope[],
  rights: (project: string) => ProjectRights,
  overQuota: (project: string) => boolean,
): Decision {
  const access: Access[] = [];
  const denied: string[] = [];
  for (const s of scopes) {
    const project = s.type === "repository" ? projectOf(s.name) : undefined;
    const r = project ? rights(project) : { pull: false, push: false };
    const granted = s.actions.filter(
      (a) => (a === "pull" && r.pull) || (a === "push" && r.push && !overQuota(project!)),
    );
    const refused = s.actions.filter((a) => !granted.includes(a));
    if (granted.length) {
      const prev = access.find((x) => x.type === s.type && x.name === s.name);
      if (prev) prev.actions = [...new Set([...prev.actions, ...granted])];
      else access.push({ type: s.type, name: s.name, actions: [...new Set(granted)] });
    }
    if (refused.length) denied.push(`${s.type}:${s.name}:${refused.join(",")}`);
  }
  return { access, denied };
}

/** The projects a set of scopes touches, each once. */
export function projectsOf(scopes: Scope[]): string[] {
  return [...new Set(scopes.filter((s) => s.type === "repository").flatMap((s) => projectOf(s.name) ?? []))];
}

/** The result label of a token request in pacific_registry_token_requests_total. */
export function resultOf(requested: Scope[], d: Decision): "granted" | "partial" | "denied" {
  if (d.denied.length === 0) return "granted";
  return d.access.length ? "partial" : requested.length ? "denied" : "granted";
}
