/** New ids for uploads, as a port so that simulations repeat exactly. */
export interface IdGenerator {
  /** A new unique id (a UUID in production). */
  newId(): string;
}
