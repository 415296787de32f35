import { type ChildProcess, spawn } from 'node:child_process';

export interface CliRun {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The exit code, once the process closed its pipes. */
  readonly exit: Promise<number | null>;
}

/** Runs a TypeScript command-line program in a child Node, collecting what it writes. */
export function runCli(script: string, args: string[]): CliRun {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  // 'close', not 'exit': only then has everything the child wrote been read from its pipes.
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}
