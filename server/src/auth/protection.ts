import picomatch from "picomatch";

/**
 * Networks that the agent must not stop, update or delete, such as the
 * host's own management networks. Patterns are shell globs (`*`, `?`,
 * `[abc]`, `{a,b}`) matched against the whole network name.
 */
export class ProtectedNetworks {
  private readonly matchers: Array<{ pattern: string; matches: (name: string) => boolean }>;

  constructor(readonly patterns: readonly string[]) {
    this.matchers = patterns.map((pattern) => ({ pattern, matches: picomatch(pattern, { dot: true }) }));
  }

  /** Returns the first pattern that protects `name`, or undefined. */
  ruleFor(name: string): string | undefined {
    return this.matchers.find((matcher) => matcher.matches(name))?.pattern;
  }
}
