/**
 * The admin commands as a function invocation (the admin Lambda, the local run's admin endpoint):
 * a JSON command in, a JSON response out. Failures of infrastructure (a secret that cannot be read,
 * DynamoDB down) come back as an error response too, so the CLI always has something to show.
 */
import type { LogSink } from '../core/telemetry.ts';
import { type AdminResponse, runAdminCommand } from './commands.ts';
import type { ManageDeps } from './manage.ts';

export type AdminHandler = (command: unknown) => Promise<AdminResponse>;

export function createAdminHandler(deps: ManageDeps & { logger: LogSink }): AdminHandler {
  return async (command) => {
    try {
      const response = await runAdminCommand(command, deps);
      deps.logger.info('admin command', {
        command: typeof command === 'object' && command !== null ? Reflect.get(command, 'command') : null,
        ok: response.ok,
        error: response.ok ? null : response.error.name,
      });
      return response;
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      deps.logger.error('admin command failed', { error: { name, message } });
      return { ok: false, error: { name, message }, progress: [] };
    }
  };
}
