#!/usr/bin/env python3
"""Independent reference values for the Lattice tests (tests/Crystalline.Hpc.Tests/Lattice/).

Run:  python3 tests/Crystalline.Hpc.Tests/Lattice/reference_values.py
The printed values are pasted into LatticeReferenceTests.cs / BigFixedTests.cs. Everything here is
computed from the definitions in docs/lattice-math.md with mpmath at 60 significant digits and
Python's exact integers/fractions, without any code from the C# implementation. In particular θ
takes k·π(1+√5) literally at high precision (not the 2π·frac(k·φ) form the C# code uses).
"""
import math
import struct
from fractions import Fraction

import mpmath
from mpmath import mp, mpf

mp.dps = 60

PLIMPTON = [(119, 120, 169), (3367, 3456, 4825), (4601, 4800, 6649), (12709, 13500, 18541),
            (65, 72, 97), (319, 360, 481), (2291, 2700, 3541), (799, 960, 1249), (481, 600, 769),
            (4961, 6480, 8161), (45, 60, 75), (1679, 2400, 2929), (161, 240, 289),
            (1771, 2700, 3229), (56, 90, 106)]
PHI_D = [3, 7, 31, 12, 19, 5, 11, 13, 17, 23, 29, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89]
WAVE = {'a': '1.372', 'e': '0.980', 'i': '0.686', 'o': '1.143', 'u': '1.225', 's': '0.086', 'z': '0.086',
        'f': '0.098', 'v': '0.098', 't': '0.114', 'd': '0.114', 'k': '0.137', 'g': '0.137',
        'p': '0.171', 'b': '0.171', 'm': '0.343', 'n': '0.343', 'l': '0.490', 'r': '0.490',
        'w': '0.686', 'y': '0.686'}
LAMBDA = Fraction(3, 144000)


def wavelength(token):
    if not token:
        return mpf('0.343')
    return mpf(WAVE.get(token[0].lower(), '0.343'))


def omega(p):
    w = mpf(LAMBDA.numerator) / LAMBDA.denominator / (1 + mpf(abs(p - 144000)) / 144000)
    return 2 * w if p in (143999, 144001) else w


def psi(p):
    best, bestd = None, None
    for t in PLIMPTON:
        d = min(abs(p - v) for v in t)
        if bestd is None or d < bestd:
            best, bestd = t, d
    a, b, c = best
    if a * a + b * b != c * c:
        return mpf(0)
    v = 2 * mp.pi * (p % c) / c
    return v - 2 * mp.pi if v > mp.pi else v


def theta(p, k, n, token):
    spiral = k * mp.pi * (1 + mp.sqrt(5))
    index = (n - 1) * 2 * mp.pi / (12 * mp.log(3)) if n > 0 else mpf(0)
    phonetic = mp.log(343 / wavelength(token), 3)
    total = spiral + index + phonetic + omega(p) + psi(p)
    return total - 2 * mp.pi * mp.floor(total / (2 * mp.pi))


def clock(i):
    if i < 12:
        return 0, i, 12, (i - 3) * 2 * mp.pi / 12, 0.25
    if i < 72:
        pos = i - 12
        return 1, pos, 60, (pos - 15) * 2 * mp.pi / 60, 0.50
    if i < 132:
        pos = i - 72
        return 2, pos, 60, (pos - 15) * 2 * mp.pi / 60, 0.75
    if i < 232:
        pos = i - 132
        return 3, pos, 100, (pos - 25) * 2 * mp.pi / 100, 1.00
    pos = i - 232
    return 4, pos, 1000, pos * 2 * mp.pi / 1000, 1.25


def embedding(t, d):
    ring, pos, size, angle, _ = clock(t)
    x = (mpf(3) ** (ring + mpf(pos) / size) * mp.cos(angle * PHI_D[d % 12])
         * mp.cos(2 * mp.pi * (t % 12) / 12) * mp.tanh(1 + mpf(ring) / 10 + mpf(d) / 100) / 100)
    return mp.tanh(x)


def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True


def prime_count(n):
    sieve = bytearray([1]) * (n + 1)
    sieve[0:2] = b'\x00\x00'
    for i in range(2, int(n ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = bytearray(len(range(i * i, n + 1, i)))
    return sum(sieve)


def bits(x):
    return '0x%016X' % struct.unpack('<Q', struct.pack('<d', x))[0]


def main():
    print('// mpmath', mpmath.__version__, 'at', mp.dps, 'digits')
    print('// constants, 55 digits after the point')
    for name, v in [('pi', mp.pi), ('ln3', mp.log(3)), ('sqrt5', mp.sqrt(5)),
                    ('phi', (1 + mp.sqrt(5)) / 2), ('lambda', mpf(3) / 144000),
                    ('indexstep', 2 * mp.pi / (12 * mp.log(3))), ('spiralstep', mp.pi * (1 + mp.sqrt(5)))]:
        print(f'{name} = "{mp.nstr(v, 57, strip_zeros=False)}"  double {float(v)!r} {bits(float(v))}')
    print('// log3(1000) =', mp.nstr(mp.log(1000, 3), 20))

    print('// clock: index -> ring, pos, size, angle (double), radius')
    for i in [0, 3, 11, 12, 27, 71, 72, 100, 131, 132, 157, 231, 232, 1232, 50256]:
        r, pos, size, ang, rad = clock(i)
        print(f'[InlineData({i}L, {r}, {pos}L, {size}, {float(ang)!r}, {rad})]')

    print('// theta: p, k, n, token -> theta')
    cases = [(2, 1, 1, ''), (3, 2, 1, 'a'), (5, 3, 2, 'e'), (7, 4, 3, 'i'), (11, 5, 4, 'o'),
             (13, 6, 5, 'u'), (97, 25, 7, 'sun'), (143999, 13343, 1, ''), (143999, 13343, 12, 'Zeta'),
             (144001, 13344, 3, 'f'), (144013, 13344, 2, 'token'), (1000003, 78499, 24, 'k'),
             (2038074743, 100000000, 100, 'p'), (4601, 626, 0, 'm'), (4601, 626, -5, 'l'),
             (65, 18, 1, 'w'), (104729, 10000, 9, ' hello'), (999999937, 50847534, 1000000, 'x'),
             (3, 9223372036854775807, 2147483647, 'y'), (0, 0, 1, 'b')]
    for p, k, n, tok in cases:
        print(f'[InlineData({p}L, {k}L, {n}, "{tok}", {float(theta(p, k, n, tok))!r})]')

    print('// omega, psi')
    for p in [0, 2, 143999, 144000, 144001, 144013, 288000, 10**12]:
        print(f'[InlineData({p}L, {float(omega(p))!r}, {float(psi(p))!r})]')

    print('// embedding E[t, d] (double); |E| < 1e-40 is printed as 0: it is exactly 0 in exact arithmetic')
    print('// (a cosine of an odd multiple of pi/2), and only the 60-digit rounding of pi leaves ~1e-60 here')
    for t, d in [(0, 0), (1, 0), (2, 5), (3, 1), (5, 11), (7, 12), (11, 767), (12, 0), (13, 3),
                 (40, 7), (71, 100), (72, 2), (100, 63), (131, 9), (132, 0), (150, 14), (231, 5),
                 (232, 0), (233, 1), (240, 2), (250, 23), (300, 4), (482, 0), (1000, 3),
                 (3000, 10), (50256, 767)]:
        e = embedding(t, d)
        print(f'[InlineData({t}, {d}, {float(e) if abs(e) > mpf("1e-40") else 0.0!r})]')

    print('// primes')
    print('pi(143999) =', prime_count(143999), ' pi(144013) =', prime_count(144013),
          ' pi(10^6) =', prime_count(10**6))
    print('143999 prime', is_prime(143999), ' 144001 prime', is_prime(144001), ' 144001 =', 11, '*', 144001 // 11,
          144001 % 11 == 0)
    below = next(q for q in range(143999 - 2, 2, -1) if is_prime(q) and is_prime(q + 2))
    above = next(q for q in range(144002, 10**7) if is_prime(q) and is_prime(q + 2))
    nxt = next(q for q in range(144000, 10**7) if is_prime(q))
    print('twin below', (below, below + 2), ' twin above', (above, above + 2), ' next prime after 143999', nxt)

    print('// doubles from exact binary fractions m / 2^f (correctly rounded by Fraction -> float)')
    for m, f in [(1, 1074), (1, 1075), (3, 1075), (5, 1076), ((1 << 53) + 1, 53), ((1 << 53) + 3, 53),
                 ((1 << 52) - 1, 1074), ((1 << 52) * 2 - 1, 1075), (0x1FFFFFFFFFFFFF << 971, 0),
                 ((0x1FFFFFFFFFFFFF << 1) + 1 << 970, 0), (12345678901234567890123456789, 200)]:
        try:
            v = float(Fraction(m, 1 << f))
        except OverflowError:
            v = math.inf
        print(f'm={m} f={f} -> {v!r} {bits(v)}')


if __name__ == '__main__':
    main()
