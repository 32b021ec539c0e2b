import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';

export class IntrospectBody {
  @ApiProperty({ description: 'A credential or session token issued by this broker' })
  @IsString()
  @MinLength(1)
  @MaxLength(16384)
  token: string;
}
