/**
 * A request of the control or in-process API that cannot be carried out: it names a mailbox or
 * subscription the simulator does not have (`notFound`), or a kind or folder it does not know.
 */
export class SimulatorInputError extends Error {
  override readonly name = 'SimulatorInputError';
  readonly notFound: boolean;

  constructor(message: string, options: { notFound?: boolean } = {}) {
    super(message);
    this.notFound = options.notFound ?? false;
  }
}
