import type { MigrationInterface, QueryRunner } from 'typeorm';

export class SigningKeyAlgorithms1765000000000 implements MigrationInterface {
  name = 'SigningKeyAlgorithms1765000000000';

  async up(db: QueryRunner): Promise<void> {
    // P2.3: a signing key per JWS algorithm (kube-apiserver refuses EdDSA). Every key stored so
    // far is Ed25519; each algorithm has at most one key that signs (the others only verify).
    await db.query(`ALTER TABLE signing_keys ADD COLUMN alg text NOT NULL DEFAULT 'EdDSA' CHECK (alg IN ('EdDSA', 'RS256', 'ES256'))`);
    await db.query(`ALTER TABLE signing_keys ALTER COLUMN alg DROP DEFAULT`);
    await db.query(`CREATE UNIQUE INDEX signing_keys_active_alg_idx ON signing_keys (alg) WHERE retired_at IS NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX signing_keys_active_alg_idx`);
    await db.query(`ALTER TABLE signing_keys DROP COLUMN alg`);
  }
}
