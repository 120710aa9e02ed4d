// A member's roles, as the pages need them (no side effects: any page may import this).

// The roles a member holds now (a member record keeps each role's history).
export function currentRoles(member) {
  return new Set((member?.roles ?? []).filter((r) => r.to === null).map((r) => r.role));
}
