/**
 * What the simulators' command lines share: starting with errors a person can act on, and stopping
 * on Ctrl-C without `process.exit`, so a clean exit proves `stop()` left no handle behind.
 */

/** The usage error of a program: one line naming what is wrong, a pointer to --help, exit code 2. */
export function usageErrorFor(name: string): (message: string) => never {
  return (message) => {
    process.stderr.write(`${name}: ${message}\n(see --help)\n`);
    process.exit(2);
  };
}

/** Reads a numeric flag (absent: undefined); anything but a number of at least 0 is a usage error. */
export function numberFlag(
  usageError: (message: string) => never,
  flag: string,
  raw: string | undefined,
  integer: boolean,
): number | undefined {
  if (raw === undefined) return undefined;
  const pattern = integer ? /^\d+$/ : /^\d+(\.\d+)?$|^\.\d+$/;
  if (!pattern.test(raw)) {
    usageError(
      `--${flag} ${JSON.stringify(raw)} is not ${integer ? 'a whole number' : 'a number'} of at least 0`,
    );
  }
  return Number(raw);
}

/** The flag behind each setting both simulators have, to name it in a config error. */
export const FLAG_OF_SETTING: Readonly<Record<string, string>> = {
  port: '--port',
  host: '--host',
  timeScale: '--time-scale',
  mailbox: '--mailboxes',
  mailboxes: '--mailboxes',
  'mailbox count': '--mailbox-count',
  changeRate: '--change-rate',
  seed: '--seed',
};

/** A setting refused at start-up, named as the option it became (`setting`). */
interface ConfigError extends Error {
  readonly setting: string;
}

/**
 * Starts the program; a config error is a usage error naming the flag (exit 2), a taken port or any
 * other failure exits 1 with one line saying so.
 */
export async function startOrExit<T>(
  name: string,
  start: () => Promise<T>,
  options: {
    readonly isConfigError: (e: unknown) => e is ConfigError;
    readonly flagOfSetting: Readonly<Record<string, string>>;
    readonly port: number | undefined;
    readonly usageError: (message: string) => never;
  },
): Promise<T> {
  try {
    return await start();
  } catch (e) {
    if (options.isConfigError(e)) {
      // Name the flag rather than the option it became.
      const flag = options.flagOfSetting[e.setting];
      options.usageError(flag === undefined ? e.message : `${flag}${e.message.slice(e.setting.length)}`);
    }
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    if (code === 'EADDRINUSE') {
      process.stderr.write(`${name}: port ${options.port} is already in use; choose another with --port\n`);
    } else {
      process.stderr.write(`${name}: could not start: ${e instanceof Error ? e.message : String(e)}\n`);
    }
    process.exit(1);
  }
}

/** On SIGINT or SIGTERM, stops; a second signal exits at once (130). */
export function stopOnSignals(name: string, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`${name}: ${signal} again, exiting at once\n`);
      process.exit(130);
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping…\n`);
    stop().then(
      () => {
        process.stdout.write(`${name} stopped\n`);
        // No process.exit: with every handle closed, Node ends on its own, which proves stop()
        // left nothing running. The listeners go so a later signal kills the process normally.
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      },
      (e: unknown) => {
        process.stderr.write(`${name}: stop failed: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
