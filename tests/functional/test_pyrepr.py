"""cheesechain's number printer against Python's own str().

Both networks hash and sign numbers as Python prints them, so the C printer
(src/codec/pynum.c, driven through the `pyrepr` tool) must agree with str()
on every value, not just typical ones. The values are drawn with a fixed
seed so that a failure reproduces.
"""
import math
import os
import random
import struct
import subprocess

import pytest

SEED = 20260101
RANDOM_BITS = 100_000
RANDOM_DECIMALS = 60_000
RANDOM_SUBNORMALS = 10_000
RANDOM_INTS = 5_000


def pyrepr_binary():
    build = os.environ.get("CHEESE_BUILD")
    if not build:
        pytest.skip("CHEESE_BUILD is not set: point it at the build directory holding pyrepr")
    path = os.path.join(build, "pyrepr")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build the 'pyrepr' target first")
    return path


def bits_of(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def double_of(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def with_neighbours(x):
    return [math.nextafter(x, -math.inf), x, math.nextafter(x, math.inf)]


def random_finite(rng, count):
    out = []
    while len(out) < count:
        x = double_of(rng.getrandbits(64))
        if math.isfinite(x):
            out.append(x)
    return out


def random_decimals(rng, count):
    """Short decimals are where the shortest-digits rule matters most."""
    out = []
    while len(out) < count:
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 17)))
        x = float(f"{rng.choice('-+')}{digits}e{rng.randint(-340, 310)}")
        if math.isfinite(x):
            out.append(x)
    return out


def powers():
    """Powers of two hold the asymmetric-gap cases; powers of ten and their
    neighbours sit on the fixed/scientific switch and digit-count changes."""
    values = []
    for e in range(-1074, 1024):
        values += with_neighbours(2.0**e)
    for e in range(-323, 309):
        values += with_neighbours(float(f"1e{e}"))
    for e in range(-5, 18):
        for m in (1.5, 2.5, 9.5, 9.999999999999999):
            values += with_neighbours(float(f"{m}e{e}"))
    return [x for x in values if math.isfinite(x)]


def subnormals(rng):
    values = [double_of(b) for b in range(1, 2000)]
    values += [double_of((1 << 52) - b) for b in range(1, 2000)]
    values += [double_of(rng.randrange(1, 1 << 52)) for _ in range(RANDOM_SUBNORMALS)]
    return values


def edges():
    big = 2.0**53
    return [
        0.0, 1.0, 0.1, 0.2, 0.3, 0.1 + 0.2, 1 / 3, 2 / 3, 0.8, 2.0, 100.0,
        5e-324, 1e-323, 2.2250738585072014e-308, 2.225073858507201e-308,
        1.7976931348623157e308, 1.7976931348623155e308,
        big, big + 2, big - 1, 1e15, 1e16, 9999999999999998.0, 1e-4, 1e-5,
        0.0001, 0.00009999999999999999, 123456789012345678.0,
        # exact ties between two shortest candidates: Python rounds to even
        2.0**50 + 0.25, 2.0**50 + 0.75, 2.0**51 + 0.5, 2.0**51 + 1.5,
        1e22, 1e23, 9007199254740993.0, 4.35, 0.035, 2.675, 1.005,
    ]


def all_doubles():
    rng = random.Random(SEED)
    values = random_finite(rng, RANDOM_BITS) + random_decimals(rng, RANDOM_DECIMALS)
    values += powers() + subnormals(rng) + edges()
    return values + [-x for x in values[::7]] + [-x for x in edges()]


def all_ints():
    rng = random.Random(SEED + 1)
    values = [0, 1, -1, 2, 50, 123456789012345678, 2**63 - 1, -(2**63), 2**53, -(2**53) - 1]
    values += [rng.randrange(-(2**63), 2**63) for _ in range(RANDOM_INTS)]
    values += [rng.randrange(-10**6, 10**6) for _ in range(RANDOM_INTS)]
    values += [10**k for k in range(19)] + [-(10**k) for k in range(19)]
    return values


def run_pyrepr(lines):
    result = subprocess.run(
        [pyrepr_binary()], input="".join(f"{line}\n" for line in lines),
        capture_output=True, text=True, check=True, timeout=600)
    return result.stdout.splitlines()


def check(inputs, outputs, expected):
    assert len(outputs) == len(expected), "pyrepr printed a different number of lines"
    wrong = [(i, o, e) for i, o, e in zip(inputs, outputs, expected) if o != e]
    shown = "\n".join(f"  {i}: got {o!r}, Python says {e!r}" for i, o, e in wrong[:20])
    assert not wrong, f"{len(wrong)} of {len(expected)} values differ from str():\n{shown}"


def test_doubles_match_python_str():
    values = all_doubles()
    assert len(values) >= 200_000
    inputs = [f"{bits_of(x):016x}" for x in values]
    check(inputs, run_pyrepr(inputs), [str(x) for x in values])


def test_ints_match_python_str():
    values = all_ints()
    inputs = [f"int {v}" for v in values]
    check(inputs, run_pyrepr(inputs), [str(v) for v in values])


def test_special_values_print_as_python_does():
    values = [math.inf, -math.inf, math.nan]
    inputs = [f"{bits_of(x):016x}" for x in values]
    check(inputs, run_pyrepr(inputs), [str(x) for x in values])
