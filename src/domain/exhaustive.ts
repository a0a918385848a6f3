/** For the default branch of a switch over a union: a new member fails to compile here instead of being ignored. */
export function assertNever(value: never): never {
  // programming error: the compiler has already refused every case this could see.
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
