/** Each function's access.ts by the name its description and bundle carry: receiver, processor, … */
import { ADMIN_ACCESS } from '../../functions/admin/access.ts';
import type { FunctionAccess } from '../../functions/core/access.ts';
import { PROCESSOR_ACCESS } from '../../functions/processor/access.ts';
import { RECEIVER_ACCESS } from '../../functions/receiver/access.ts';
import { RENEWER_ACCESS } from '../../functions/renewer/access.ts';
import { SWEEPER_ACCESS } from '../../functions/sweeper/access.ts';

export const ACCESS_BY_FUNCTION: Readonly<Record<string, FunctionAccess>> = {
  receiver: RECEIVER_ACCESS,
  processor: PROCESSOR_ACCESS,
  sweeper: SWEEPER_ACCESS,
  renewer: RENEWER_ACCESS,
  admin: ADMIN_ACCESS,
};
