import { HttpStatus } from '@nestjs/common';
import { defineDomainErrors } from '../common/domain-error';

export class TransparencyError extends defineDomainErrors({
  /** The tree has not been checkpointed yet (a fresh install, within its first interval). */
  no_checkpoint: HttpStatus.NOT_FOUND,
  /** Proofs are answered for checkpointed tree sizes only. */
  no_checkpoint_at_size: HttpStatus.BAD_REQUEST,
  seq_outside_tree: HttpStatus.BAD_REQUEST,
  invalid_tree_range: HttpStatus.BAD_REQUEST,
}) {}
