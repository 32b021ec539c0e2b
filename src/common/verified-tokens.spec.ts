import { VerifiedTokens } from './verified-tokens';

describe('VerifiedTokens', () => {
  const inSeconds = (seconds: number) => Date.now() / 1000 + seconds;

  it('answers a kept token until its exp, then forgets it', async () => {
    const tokens = new VerifiedTokens<string>(10);
    tokens.set('token-a', 'alice', inSeconds(0.3));
    expect(tokens.get('token-a')).toBe('alice');
    expect(tokens.get('token-b')).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(tokens.get('token-a')).toBeUndefined();
  });

  it('keeps nothing already expired, and a token without exp as long as the maximum age allows', () => {
    const tokens = new VerifiedTokens<string>(10);
    tokens.set('expired', 'x', inSeconds(-1));
    tokens.set('no-exp', 'y', undefined);
    expect(tokens.get('expired')).toBeUndefined();
    // Without an exp and without a maximum age the entry would live forever: it is kept, as the
    // caller asked (session tokens always have one; user tokens get a maximum age).
    expect(tokens.get('no-exp')).toBe('y');
  });

  it('remembers no token longer than its maximum age', async () => {
    const tokens = new VerifiedTokens<string>(10, 200);
    tokens.set('token', 'alice', inSeconds(3600));
    tokens.set('no-exp', 'bob', undefined);
    expect(tokens.get('token')).toBe('alice');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(tokens.get('token')).toBeUndefined();
    expect(tokens.get('no-exp')).toBeUndefined();
  });

  it('drops the oldest entry beyond its capacity', () => {
    const tokens = new VerifiedTokens<number>(2);
    tokens.set('one', 1, inSeconds(60));
    tokens.set('two', 2, inSeconds(60));
    tokens.set('three', 3, inSeconds(60));
    expect([tokens.get('one'), tokens.get('two'), tokens.get('three')]).toEqual([undefined, 2, 3]);
  });
});
