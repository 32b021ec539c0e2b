import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

/** What other domains need to know of a grant to decide access. */
export interface GrantOwnership {
  id: string;
  requester: string;
  target: string;
  status: string;
}

/** When a grant's access was live. */
export interface AccessWindow {
  from: Date;
  to: Date;
}

/** Reads of the `grants` table for domains below `grants/` (which owns the table and writes it). */
@Injectable()
export class GrantReader {
  constructor(private readonly dataSource: DataSource) {}

  async find(id: string, tx?: EntityManager): Promise<GrantOwnership | undefined> {
    const [row] = await (tx ?? this.dataSource).query(`SELECT id, requester, target, status FROM grants WHERE id = $1`, [id]);
    return row;
  }

  /** When the grant's access was live: activation to its end (or, while active, its expiry). */
  async window(id: string): Promise<AccessWindow | undefined> {
    const [row] = await this.dataSource.query(`SELECT activated_at AS "from", COALESCE(ended_at, expires_at) AS "to" FROM grants WHERE id = $1`, [id]);
    return row;
  }

  /** Who asked for the grant, as their identity may appear elsewhere (a forge login, an e-mail). */
  async requesterOf(tx: EntityManager, id: string): Promise<{ requester: string; requesterEmail: string | null; target: string } | undefined> {
    const [row] = await tx.query(`SELECT requester, requester_email AS "requesterEmail", target FROM grants WHERE id = $1`, [id]);
    return row;
  }

  /** Those of `ids` that exist, locked in id order (so two transactions never deadlock on them). */
  lockMany(tx: EntityManager, ids: string[]): Promise<GrantOwnership[]> {
    return tx.query(`SELECT id, requester, target, status FROM grants WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE`, [ids]);
  }

  /** The grant, locked until the transaction ends (changes to one grant serialise). */
  async lock(tx: EntityManager, id: string): Promise<GrantOwnership | undefined> {
    const [row] = await tx.query(`SELECT id, requester, target, status FROM grants WHERE id = $1 FOR UPDATE`, [id]);
    return row;
  }
}
