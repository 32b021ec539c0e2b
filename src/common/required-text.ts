import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsString, MaxLength, MinLength } from 'class-validator';

/**
 * A free-text field a person must really fill in (a reason, review notes): trimmed before the
 * length checks, so ten spaces are no justification. The trimmed text is what gets stored.
 */
export function RequiredText(limits: { min?: number; max: number }) {
  const min = limits.min ?? 1;
  return applyDecorators(
    Transform(({ value }) => (typeof value === 'string' ? value.trim() : value)),
    IsString(),
    MinLength(min, {
      message:
        min === 1 ? '$property must not be empty or only whitespace' : `$property must be at least ${min} characters, not counting surrounding whitespace`,
    }),
    MaxLength(limits.max),
  );
}
