// Password hashing: argon2id (Bun.password) at the cost PASSWORD_HASH_MEMORY / PASSWORD_HASH_TIME sets. A stored hash
// carries its own parameters, so hashes made at another cost still verify; a successful login re-hashes them at
// the configured one (`outdated`).
export interface PasswordCost {
  /** argon2id memory in KiB */
  memoryKib: number;
  /** argon2id passes */
  time: number;
}

export interface Passwords {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
  /** a verification as costly as a real one, for an account that does not exist (timing does not tell) */
  verifyDummy(password: string): Promise<void>;
  /** the hash was made at another cost than the configured one */
  outdated(hash: string): boolean;
}

export function createPasswords(cost: PasswordCost): Passwords {
  const options = { algorithm: 'argon2id' as const, memoryCost: cost.memoryKib, timeCost: cost.time };
  const params = `m=${cost.memoryKib},t=${cost.time},`;
  let dummy: Promise<string> | undefined;
  const hash = (password: string) => Bun.password.hash(password, options);
  return {
    hash,
    verify: (password, h) => Bun.password.verify(password, h),
    async verifyDummy(password) {
      dummy ??= hash('not-a-real-password-0');
      await Bun.password.verify(password, await dummy);
    },
    outdated: (h) => !h.startsWith('$argon2id$') || !h.includes(`$${params}`),
  };
}
