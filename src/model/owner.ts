/** Who fixes a fault (src/diagnose/ownership.ts decides which, by the platform's responsibility matrix). */
export type Owner = 'platform team' | 'application team';
