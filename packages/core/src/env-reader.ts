import { ConfigError } from "./errors.js";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads typed values from an environment and collects every problem, so that start-up reports all
 * bad variables at once. Call `done()` after the last read: it throws `ConfigError` naming each one.
 */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const raw = this.raw(name);
    return raw ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name}: expected an integer in ${min}..${max} but received ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  }

  /** Strict: only true/false/1/0; anything else is an error, never a silent `true`. */
  bool(name: string, fallback: boolean): boolean {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    this.problems.push(`${name}: expected true, false, 1 or 0 but received ${JSON.stringify(raw)}`);
    return fallback;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.raw(name);
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`${name}: expected one of ${allowed.join(", ")} but received ${JSON.stringify(raw)}`);
    return fallback;
  }

  /** A comma-separated list whose items are all in `allowed`. */
  listOf<T extends string>(name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
    const raw = this.raw(name);
    if (raw === undefined) return [...fallback];
    const items = raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = items.filter((i) => !(allowed as readonly string[]).includes(i));
    if (items.length === 0 || bad.length > 0) {
      this.problems.push(
        `${name}: expected a comma-separated list of ${allowed.join(", ")} but received ${JSON.stringify(raw)}`,
      );
      return [...fallback];
    }
    return [...new Set(items)] as T[];
  }

  /** Records a cross-field problem; the message should name the variables involved. */
  problem(message: string): void {
    this.problems.push(message);
  }

  done(): void {
    if (this.problems.length > 0) {
      throw new ConfigError(`Invalid configuration:\n  ${this.problems.join("\n  ")}`);
    }
  }

  // An empty value counts as unset, as in most shells' `VAR= cmd` usage.
  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === "" ? undefined : value;
  }
}
