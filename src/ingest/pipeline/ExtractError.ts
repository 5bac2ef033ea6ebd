import { type ErrorCode, SwitchyardError } from '../../errors.js';

/** Why extraction refused a file: always permanent (the same bytes fail the same way). */
export class ExtractError extends SwitchyardError {
  constructor(code: typeof ErrorCode.FILE_CORRUPT | typeof ErrorCode.FILE_TOO_LARGE | typeof ErrorCode.FILE_UNSUPPORTED, message: string) {
    super(code, message);
  }
}
