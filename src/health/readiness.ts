/**
 * Parts of the service that report their own readiness in `GET /readyz` (the PostgreSQL proxy's
 * listener): each answers "ok" or what is wrong.
 */
export class ReadinessChecks {
  private readonly checks = new Map<string, () => string>();

  add(name: string, check: () => string): void {
    this.checks.set(name, check);
  }

  results(): Record<string, string> {
    return Object.fromEntries([...this.checks].map(([name, check]) => [name, check()]));
  }
}
