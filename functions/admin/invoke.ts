/**
 * The admin commands as a function invocation (the admin Lambda, the local run's admin endpoint):
 * a JSON command in, a JSON response out. Failures of infrastructure (a secret that cannot be read,
 * DynamoDB down) come back as an error response too, so the CLI always has something to show.
 */
import { type EdgeHandler, edge, type FailureAnswer } from '../core/edge.ts';
import type { LogSink } from '../core/telemetry.ts';
import { type AdminResponse, runAdminCommand } from './commands.ts';
import type { ManageDeps } from './manage.ts';

export type AdminHandler = EdgeHandler<unknown, AdminResponse>;

export function createAdminHandler(deps: ManageDeps & { logger: LogSink }): AdminHandler {
  const useCase = async (command: unknown) => {
    const response = await runAdminCommand(command, deps);
    deps.logger.info('admin command', {
      command: typeof command === 'object' && command !== null ? Reflect.get(command, 'command') : null,
      ok: response.ok,
      error: response.ok ? null : response.error.name,
    });
    return response;
  };
  return edge(useCase, { logger: deps.logger, failure: ANSWER_ERROR });
}

/** The CLI shows what failed, whatever failed. */
const ANSWER_ERROR: FailureAnswer<AdminResponse> = {
  message: 'admin command failed',
  answer: (error) => ({ ok: false, error, progress: [] }),
};
