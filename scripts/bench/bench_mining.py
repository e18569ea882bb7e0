"""Mining: hash attempts per second per core of the node's own miner, all
cores busy, against what OpenSSL's SHA-256 could do with the same pre-image.

cheese-bench-mine runs node/miner.c (one thread per core, midstate and all)
on the template of a block with 2 signed payments and the reward (the
default --n-transactions) at a difficulty nothing meets, and counts
attempts per CPU second. The anchor is `openssl speed -bytes L sha256` at L,
the length of one attempt's whole pre-image, divided by L: the attempts a
miner without midstate would make if hashing were all it did. Both are per
CPU second (openssl's own measure), so other load on the machine changes
them less than it changes wall-clock rates."""
import json
import os
import re
import subprocess

SECONDS = 10
PAYMENTS = 2
TARGET = 0.8


def openssl_bytes_per_cpu_second(size, seconds):
    """openssl speed's SHA-256 rate at one input size (-mr: machine-readable
    "+F:<n>:sha256:<bytes per second>"); it times itself in user CPU time."""
    out = subprocess.run(["openssl", "speed", "-mr", "-seconds", str(seconds), "-bytes",
                          str(size), "sha256"], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    match = re.search(r"^\+F:\d+:sha256:([0-9.]+)", out, re.M)
    if not match:
        raise RuntimeError(f"no rate in openssl speed output: {out[-500:]!r}")
    return float(match.group(1))


def run(ctx):
    ctx.log(f"the miner on {ctx.cores} threads for {SECONDS} s")
    out = subprocess.run([os.path.join(ctx.build, "cheese-bench-mine"), "--seconds", str(SECONDS),
                          "--threads", str(ctx.cores), "--payments", str(PAYMENTS)],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    m = json.loads(out)
    size = m["preimage_bytes"]
    ctx.log(f"openssl speed sha256 at {size} bytes for {SECONDS} s")
    rate = openssl_bytes_per_cpu_second(size, SECONDS)
    anchor = rate / size
    value = m["attempts_per_cpu_second"]
    ratio = value / anchor
    note = (f"{size}-byte pre-image ({m['prefix_bytes']} prefix, {m['nonce_bytes']} nonce, "
            f"{m['suffix_bytes']} suffix); {m['blocks_with_midstate']} of "
            f"{m['blocks_without_midstate']} SHA-256 blocks hashed per attempt with the midstate; "
            f"wall clock {m['attempts_per_second_per_thread']:,.0f}/s per thread")
    row = {"figure": "mining: hash attempts/s per core, all cores busy",
           "value": value, "unit": "attempts/s",
           "anchor": f"openssl speed sha256 at {size} bytes ÷ {size}",
           "anchor_value": anchor, "anchor_unit": "attempts/s",
           "target": f">= {TARGET} x anchor", "met": ratio >= TARGET, "note": note}
    section = "\n".join([
        "### Mining",
        "",
        f"- miner: {m['threads']} threads for {m['seconds']:.1f} s, {m['attempts']:,} attempts in "
        f"{m['cpu_seconds']:.1f} CPU s: {value:,.0f} attempts per CPU second "
        f"({m['attempts_per_second_per_thread']:,.0f} per thread per wall-clock second)",
        f"- pre-image of one attempt: {size} bytes = {m['prefix_bytes']} (prefix, up to the nonce) "
        f"+ {m['nonce_bytes']} (nonce) + {m['suffix_bytes']} (suffix: creator, merkle root, "
        f"count, {PAYMENTS} payments and the reward)",
        f"- `openssl speed -seconds {SECONDS} -bytes {size} sha256`: {rate / 1e6:,.1f} MB per CPU "
        f"second, so {anchor:,.0f} attempts/s for a miner hashing all {size} bytes each time",
        f"- SHA-256 compressions per attempt: {m['blocks_without_midstate']} without a midstate, "
        f"{m['blocks_with_midstate']} with it (the prefix's whole 64-byte blocks are hashed once "
        f"per template); ratio {ratio:.2f}",
    ])
    return {"rows": [row], "sections": [section]}


if __name__ == "__main__":
    import run as harness
    harness.standalone(__file__)
