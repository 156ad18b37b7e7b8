// Typed tokens over inversify, so that the type checker checks the wiring: each token carries the
// type of what it is bound to, and `provide` types a factory's parameters from its dependency
// tokens. A binding whose dependencies are listed in the wrong order then fails `tsc`, where plain
// symbol tokens and hand-annotated factory parameters would compile and fail at run time.
// (test/composition/shared/typed-wiring.test.ts holds a swapped binding against the compiler.)
import type { Bind, Container } from 'inversify';

declare const carries: unique symbol;

/** A symbol that names one binding and carries its type; make one with `token`. */
export type Token<T> = symbol & { readonly [carries]: T };

/** The types the tokens of a dependency list stand for, position by position. */
type ValuesOf<D extends readonly Token<unknown>[]> = {
  [K in keyof D]: D[K] extends Token<infer V> ? V : never;
};

export function token<T>(name: string): Token<T> {
  return Symbol(name) as Token<T>;
}

/**
 * Binds `target` to what `factory` makes from the values of `deps`, once per container. The
 * factory's parameters take their types from the tokens, and its result must be the target's type
 * (NoInfer: a factory of a wider type does not widen the target).
 */
export function provide<T, const D extends readonly Token<unknown>[]>(
  bind: Bind,
  target: Token<T>,
  deps: D,
  factory: (...values: ValuesOf<D>) => NoInfer<T>,
): void {
  bind<T>(target).toResolvedValue(factory as (...values: unknown[]) => T, [...deps]);
}

/** Binds `target` to a value made outside the container. */
export function constant<T>(bind: Bind, target: Token<T>, value: NoInfer<T>): void {
  bind<T>(target).toConstantValue(value);
}

/**
 * Binds `target` to a record of other bindings, field by field: what a program's start-up takes
 * from the container in one piece, instead of one `get` per part.
 */
export function provideRecord<R extends object>(
  bind: Bind,
  target: Token<R>,
  fields: { readonly [K in keyof R]-?: Token<R[K]> },
): void {
  const names = Object.keys(fields) as (keyof R & string)[];
  bind<R>(target).toResolvedValue(
    (...values: unknown[]) => Object.fromEntries(names.map((n, i) => [n, values[i]])) as R,
    names.map((n) => fields[n] as symbol),
  );
}

/** The value bound to `target`, of the token's type. */
export function resolve<T>(container: Container, target: Token<T>): T {
  return container.get<T>(target);
}
