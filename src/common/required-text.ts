import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { ValidateBy, type ValidationArguments } from 'class-validator';

/**
 * A free-text field a person must really fill in (a reason, review notes): trimmed before the
 * length check, so ten spaces are no justification. The trimmed text is what gets stored. One
 * check with one message for what is wrong ("reason is required", not "must be a string" and "must
 * be at least 10 characters" and "must be shorter than 4000" at once).
 */
export function RequiredText(limits: { min?: number; max: number }) {
  const min = limits.min ?? 1;
  return applyDecorators(
    Transform(({ value }) => (typeof value === 'string' ? value.trim() : value)),
    ValidateBy({
      name: 'requiredText',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && value.length >= min && value.length <= limits.max,
        defaultMessage: ({ property, value }: ValidationArguments) => {
          if (value === undefined || value === null) return `${property} is required`;
          if (typeof value !== 'string') return `${property} must be text`;
          if (value.length > limits.max) return `${property} must be at most ${limits.max} characters`;
          return min === 1
            ? `${property} must not be empty or only whitespace`
            : `${property} must be at least ${min} characters, not counting surrounding whitespace`;
        },
      },
    }),
  );
}
