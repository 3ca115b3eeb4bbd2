/**
 * `must(value, what)` narrows away undefined/null where the code knows the value is there (an index
 * that was just checked, a name the API server always sets); it throws with `what` if that belief is
 * ever wrong, instead of the silent `undefined` a `!` assertion would let through.
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`internal: ${what} is missing`);
  return value;
}
