import { Controller, Get, Header, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public, Roles } from '../auth/decorators';
import { Answers, AnswersText } from '../common/api-schema';
import { CheckpointAnchors } from './checkpoint-anchors.service';
import { TransparencyLog } from './transparency-log.service';
import { CheckpointsQuery, ConsistencyQuery, InclusionQuery } from './transparency.dto';
import { AnchorStatusList, CheckpointPage, ConsistencyProof, InclusionProof } from './transparency.views';

/** The audit log as a transparency log: checkpoints, proofs and the log key (docs/transparency.md). */
@ApiTags('audit')
@Controller('v1/audit')
export class TransparencyController {
  constructor(
    private readonly log: TransparencyLog,
    private readonly anchorDelivery: CheckpointAnchors,
  ) {}

  @Get('checkpoint')
  @ApiBearerAuth()
  @Roles('compliance', 'security')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'The latest signed checkpoint (C2SP tlog-checkpoint in a signed note)' })
  @AnswersText(['text/plain'], 'The signed note: origin, tree size, base64 root, a blank line, the signature line')
  async checkpoint(): Promise<string> {
    return (await this.log.latestCheckpoint()).note;
  }

  @Get('checkpoints')
  @ApiBearerAuth()
  @Roles('compliance', 'security')
  @ApiOperation({ summary: 'Every checkpoint, oldest first' })
  @Answers(CheckpointPage)
  checkpoints(@Query() query: CheckpointsQuery): Promise<CheckpointPage> {
    return this.log.checkpoints(query.after ?? 0, query.limit);
  }

  @Get('proofs/inclusion')
  @ApiBearerAuth()
  @Roles('compliance', 'security')
  @ApiOperation({ summary: 'RFC 9162 inclusion proof of event seq in the checkpointed tree of treeSize events' })
  @Answers(InclusionProof)
  inclusion(@Query() query: InclusionQuery): Promise<InclusionProof> {
    return this.log.inclusionProof(query.seq, query.treeSize);
  }

  @Get('proofs/consistency')
  @ApiBearerAuth()
  @Roles('compliance', 'security')
  @ApiOperation({ summary: 'RFC 9162 consistency proof between two checkpointed tree sizes' })
  @Answers(ConsistencyProof)
  consistency(@Query() query: ConsistencyQuery): Promise<ConsistencyProof> {
    return this.log.consistencyProof(query.from, query.to);
  }

  @Get('anchors')
  @ApiBearerAuth()
  @Roles('compliance', 'security')
  @ApiOperation({ summary: 'The policy anchors (audit.anchors): last checkpoint delivered, backlog, last error' })
  @Answers(AnchorStatusList)
  anchors(): Promise<AnchorStatusList> {
    return this.anchorDelivery.status();
  }

  @Public()
  @Get('log-key')
  @Header('Content-Type', 'text/plain; charset=utf-8')
  @ApiOperation({ summary: 'The checkpoint verifier key, in C2SP note vkey form' })
  @AnswersText(['text/plain'], '<key name>+<hex key id>+<base64(0x01 || Ed25519 public key)>')
  async logKey(): Promise<string> {
    return `${await this.log.verifierKey()}\n`;
  }
}
