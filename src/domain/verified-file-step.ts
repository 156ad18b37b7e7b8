import type { PushRequest } from './push-request.ts';

/**
 * A step run on the fetched, md5-verified temp file before anything is placed: undefined to go on,
 * or the refusal that ends the push as an `error` (nothing placed). FetchAndPlace runs the steps
 * before mode, owner and the move; CheckPush runs the same ones, so a check refuses what the real
 * push would. Validators named on the agent (issue 20 item 5) belong here, given to ReceiveFile.
 */
export type VerifiedFileStep = (
  req: PushRequest,
  tempPath: string,
  dest: string,
) => Promise<string | undefined>;
