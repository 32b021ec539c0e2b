import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';

/** This broker installation's short id, created at its first boot. */
export abstract class Installation {
  abstract readonly id: string;
}

export async function loadInstallation(dataSource: DataSource): Promise<Installation> {
  const candidate = randomBytes(8).toString('hex').slice(0, 6);
  await dataSource.query(`INSERT INTO installation (id) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM installation)`, [candidate]);
  const [row] = await dataSource.query(`SELECT id FROM installation ORDER BY created_at LIMIT 1`);
  return { id: row.id };
}
