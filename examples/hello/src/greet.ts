// The hello example's logic, kept apart from its entry (src/main.ts) so its tests (tests/) can call it.

/** Who is greeted when the command is given no name. */
export const NOBODY = "world";

/** Who the greeting names: `name`, or NOBODY when there is none (absent, `void` or empty). */
export function greeted(name: string | null): string {
  return name === null || name.length === 0 ? NOBODY : name;
}
