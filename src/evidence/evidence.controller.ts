import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Caller, Roles } from '../auth/decorators';
import type { Principal } from '../auth/principal';
import { GrantIdParam } from '../grants/grants.dto';
import { Evidence } from './evidence.service';

@ApiTags('evidence')
@ApiBearerAuth()
@Controller()
export class EvidenceController {
  constructor(private readonly evidence: Evidence) {}

  @Get('v1/grants/:id/evidence')
  @Roles('compliance', 'security')
  @ApiOperation({ summary: 'Signed evidence bundle: { bundle, jws } with jws = compact EdDSA JWS over canon(bundle)' })
  bundle(@Caller() caller: Principal, @Param() { id }: GrantIdParam) {
    return this.evidence.bundleFor(caller, id);
  }
}
