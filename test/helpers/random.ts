/** A seeded xorshift32 generator, so that a failing randomized test replays the same inputs. */
export function seededRandom(seed: number): { rand: () => number; int: (n: number) => number } {
  let state = seed | 0 || 1;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  return { rand, int: (n: number) => Math.floor(rand() * n) };
}
