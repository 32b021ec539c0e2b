import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ProxyCredentials1764900000000 implements MigrationInterface {
  name = 'ProxyCredentials1764900000000';

  async up(db: QueryRunner): Promise<void> {
    // A proxy login (access: proxy): the SCRAM secret of the password the engineer got (never the
    // password), and the target role's own password sealed with the master key, which only the
    // proxy unseals to log in upstream. Both are erased when the credential is revoked.
    await db.query(`ALTER TABLE credentials ADD COLUMN proxy_scram jsonb, ADD COLUMN upstream_secret text`);
    await db.query(`CREATE UNIQUE INDEX credentials_proxy_login_idx ON credentials (username) WHERE proxy_scram IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX credentials_proxy_login_idx`);
    await db.query(`ALTER TABLE credentials DROP COLUMN proxy_scram, DROP COLUMN upstream_secret`);
  }
}
