import type { ValidationError } from 'class-validator';

export interface FieldProblem {
  /** Dotted path of the offending field, e.g. `targets.0.maxDuration`. */
  field: string;
  problems: string[];
}

/** Flattens class-validator's nested error tree into one entry per offending field. */
export function flattenValidationErrors(errors: ValidationError[], parent = ''): FieldProblem[] {
  const flat: FieldProblem[] = [];
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    if (error.constraints) flat.push({ field, problems: Object.values(error.constraints) });
    if (error.children?.length) flat.push(...flattenValidationErrors(error.children, field));
  }
  return flat;
}
