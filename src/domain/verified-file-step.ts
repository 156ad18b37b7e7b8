import type { PushRequest } from './push-request.ts';

/**
 * A step run on the fetched, md5-verified temp file before anything is placed: undefined to go on,
 * or the refusal that ends the push as an `error` (nothing placed). Check mode runs the same steps
 * (CheckPush), so a check refuses what the real push would. Validators named on the agent (issue 20
 * item 5) belong here.
 */
export type VerifiedFileStep = (
  req: PushRequest,
  tempPath: string,
  dest: string,
) => Promise<string | undefined>;
