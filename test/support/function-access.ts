/** Each function's environment.ts access by the name its description and bundle carry: receiver, processor, … */
import { ADMIN_ENVIRONMENT } from '../../functions/admin/environment.ts';
import type { FunctionAccess } from '../../functions/core/access.ts';
import { PROCESSOR_ENVIRONMENT } from '../../functions/processor/environment.ts';
import { RECEIVER_ENVIRONMENT } from '../../functions/receiver/environment.ts';
import { RENEWER_ENVIRONMENT } from '../../functions/renewer/environment.ts';
import { SWEEPER_ENVIRONMENT } from '../../functions/sweeper/environment.ts';

export const ACCESS_BY_FUNCTION: Readonly<Record<string, FunctionAccess>> = {
  receiver: RECEIVER_ENVIRONMENT.access,
  processor: PROCESSOR_ENVIRONMENT.access,
  sweeper: SWEEPER_ENVIRONMENT.access,
  renewer: RENEWER_ENVIRONMENT.access,
  admin: ADMIN_ENVIRONMENT.access,
};
