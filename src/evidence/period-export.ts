import { once } from 'node:events';
import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { DataSource } from 'typeorm';
import type { AuditEvent } from '../audit/audit-event';
import { AuditLog } from '../audit/audit-log.service';
import type { Principal } from '../auth/principal';
import { csvLine } from '../common/csv';
import { checkpointView, TransparencyLog } from '../transparency/transparency-log.service';

export interface ExportFilter {
  from?: string;
  to?: string;
  control?: string;
  format: 'jsonl' | 'csv';
}

const CSV_COLUMNS = ['seq', 'at', 'actor', 'action', 'grant', 'target', 'controls', 'data', 'prevHash', 'hash'] as const;

/**
 * Audit events of a period, streamed as JSON lines (each with prevHash and hash) or CSV, ending
 * with the chain head so a recipient can check continuity between two exports.
 */
@Injectable()
export class PeriodExport {
  constructor(
    private readonly auditLog: AuditLog,
    private readonly transparency: TransparencyLog,
    private readonly dataSource: DataSource,
  ) {}

  async stream(caller: Principal, filter: ExportFilter, res: Response): Promise<void> {
    const csv = filter.format === 'csv';
    res.status(200);
    res.setHeader('Content-Type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader(
      'Content-Disposition',
      `attachment; filename="breakglass-audit-${(filter.from ?? 'start').slice(0, 10)}-${(filter.to ?? 'now').slice(0, 10)}.${filter.format}"`,
    );
    // The chain head when the export began (it covers every exported event): for CSV, whose body is
    // pure CSV, this header is where it goes; JSONL also has it in its trailer line.
    const headAtStart = await this.auditLog.head();
    res.setHeader('X-Breakglass-Chain-Head', `${headAtStart.seq}:${headAtStart.hash}`);
    const write = async (text: string) => {
      if (!res.write(text)) await once(res, 'drain');
    };
    if (csv) await write(`${CSV_COLUMNS.join(',')}\n`);
    let first: AuditEvent | undefined;
    let last: AuditEvent | undefined;
    const count = await this.auditLog.stream({ from: filter.from, to: filter.to, control: filter.control }, async (event) => {
      first ??= event;
      last = event;
      await write(csv ? `${csvRow(event)}\n` : `${JSON.stringify(event)}\n`);
    });
    const globalHead = await this.auditLog.head();
    const trailer = {
      type: 'chain-head',
      count,
      firstSeq: first?.seq ?? null,
      firstPrevHash: first?.prevHash ?? null,
      lastSeq: last?.seq ?? null,
      lastHash: last?.hash ?? null,
      globalHead,
      filter: { from: filter.from ?? null, to: filter.to ?? null, control: filter.control ?? null },
    };
    // Last, the signed checkpoint covering the export's last event (docs/transparency.md): with it the
    // export's events can be proven part of the log long after, whatever happens to the database.
    const covering = last ? await this.transparency.checkpointCovering(last.seq) : null;
    const checkpoint = {
      type: 'checkpoint',
      covers: last?.seq ?? null,
      ...(covering ? checkpointView(covering) : { treeSize: null, rootHash: null, at: null, note: null }),
    };
    // CSV stays rows of the header's columns only (spreadsheets read a trailer as data): the chain head
    // is the X-Breakglass-Chain-Head header, the checkpoint GET /v1/audit/checkpoint.
    if (!csv) for (const line of [trailer, checkpoint]) await write(`${JSON.stringify(line)}\n`);
    res.end();
    await this.dataSource.transaction((tx) =>
      this.auditLog.append(tx, {
        actor: caller.subject,
        action: 'evidence.exported',
        data: {
          kind: 'period',
          format: filter.format,
          from: filter.from ?? null,
          to: filter.to ?? null,
          control: filter.control ?? null,
          count,
          lastSeq: last?.seq ?? null,
        },
      }),
    );
  }
}

function csvRow(event: AuditEvent): string {
  const cells = [
    event.seq,
    event.at,
    event.actor,
    event.action,
    event.grant ?? '',
    event.target ?? '',
    event.controls.join(' '),
    JSON.stringify(event.data),
    event.prevHash,
    event.hash,
  ];
  return csvLine(cells);
}
