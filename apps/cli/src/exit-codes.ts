/** Exit statuses; scripts branch on them. */
export const EXIT_CODES = {
  ok: 0,
  /** At least one file or call failed (its error code is in the output). */
  failed: 1,
  /** The command line or the environment is invalid; nothing ran. */
  usage: 2,
  /** Interrupted (Ctrl-C): running files were canceled. */
  interrupted: 130,
} as const;
