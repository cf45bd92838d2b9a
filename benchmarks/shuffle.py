"""Dinucleotide shuffle: sfcrepro vs uShuffle vs the deeplift shortcut, same sequences, one run.

Sequences are 1000 bp windows at random positions of the FASTA files given with --fasta (we used
the shared data's two hg19 regions, and earlier a local copy of UCSC's hg19,
``goldenPath/hg19/bigZips``). Each method shuffles all of them on one core (after a warm-up, the
fastest of --repeats calls counts); the table gives sequences per second and the ratio to
uShuffle. It also counts how many of the 27 sequences that share ACCCACGATGATG's first base and
dinucleotide counts each method reaches in 20,000 draws (uniform methods reach all 27).
"sfcrepro before" is the same kernel with the bounded random draw it used until 2026-12-02 (two
64-bit divisions per draw), to show what the draw costs on the machine at hand.

Needs the comparators (not dependencies of sfcrepro)::

    pip install Cython && pip install --no-build-isolation ushuffle==1.1.2
    pip install deeplift==0.6.13

Example::

    NUMBA_NUM_THREADS=1 python benchmarks/shuffle.py --fasta hg19/*.fa --sequences 20000
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from sfcrepro.data.sequences import decode, dinucleotide_shuffle, encode


def read_fasta_windows(paths, n, length, rng):
    seqs = []
    for path in paths:
        text = "".join(line.strip() for line in open(path) if not line.startswith(">")).upper()
        seqs.append(text)
    out = []
    for _ in range(n):
        text = seqs[rng.integers(len(seqs))]
        start = rng.integers(0, len(text) - length)
        out.append(text[start : start + length])
    return out


_MODULO_BELOW = """
@numba.njit(inline="always")
def _below(state, n):
    n64 = np.uint64(n)
    limit = np.uint64(0xFFFFFFFFFFFFFFFF) - (np.uint64(0xFFFFFFFFFFFFFFFF) % n64)
    while True:
        state, x = _next(state)
        if x < limit:
            return state, np.int64(x % n64)


"""


def modulo_kernel():
    """sfcrepro's kernel with the bounded draw it had before (modulo rejection: two 64-bit
    divisions per draw), compiled from the module's own source with only ``_below`` replaced, so
    that the two differ in the draw alone."""
    import sfcrepro.data._shuffle as module

    source = Path(module.__file__).read_text().replace("cache=True", "cache=False")
    start = source.index('@numba.njit(cache=False, inline="always")\ndef _below')
    end = source.index("@numba.njit(cache=False)\ndef _shuffle_row")
    namespace = {"__name__": "modulo_kernel"}
    exec(compile(source[:start] + _MODULO_BELOW + source[end:], "modulo_kernel", "exec"), namespace)
    kernel = namespace["shuffle_rows"]

    def shuffle(items):
        seeds = np.random.default_rng(1).integers(0, 2**63 - 1, size=len(items), dtype=np.int64)
        out = np.empty_like(items)
        kernel(items, seeds.astype(np.uint64), out)
        return out

    return shuffle


def timed(fn, items, repeats):
    """The fastest of ``repeats`` timed calls, after a warm-up (compilation, caches)."""
    fn(items[:100])
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(items)
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fasta", nargs="+", type=Path, required=True)
    parser.add_argument("--sequences", type=int, default=20000)
    parser.add_argument("--length", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="timed calls; the fastest counts")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    strings = read_fasta_windows(args.fasta, args.sequences, args.length, rng)
    tokens = np.stack([encode(s) for s in strings])

    methods = {}
    methods["sfcrepro (numba, uint8 batch)"] = (
        lambda items: dinucleotide_shuffle(items, np.random.default_rng(1)),
        tokens,
    )
    methods["sfcrepro before: modulo rejection (numba, uint8 batch)"] = (modulo_kernel(), tokens)
    try:
        import ushuffle

        ushuffle.set_seed(1)
        methods["uShuffle (C, ushuffle 1.1.2)"] = (
            lambda items: [ushuffle.shuffle(s.encode(), 2) for s in items],
            strings,
        )
    except ImportError:
        print("# ushuffle not installed: skipped")
    try:
        import deeplift.dinuc_shuffle as deeplift_shuffle
        from deeplift.dinuc_shuffle import dinuc_shuffle

        # deeplift 0.6.13 calls ndarray.tostring(), removed in NumPy 2; same bytes via tobytes().
        deeplift_shuffle.char_array_to_string = lambda arr: arr.tobytes().decode("ascii")

        shortcut_rng = np.random.RandomState(1)
        methods["deeplift dinuc_shuffle (shortcut)"] = (
            lambda items: [dinuc_shuffle(s, rng=shortcut_rng) for s in items],
            strings,
        )
    except ImportError:
        print("# deeplift not installed: skipped")

    probe = "ACCCACGATGATG"
    print(
        f"# {args.sequences} sequences of {args.length} bp from {', '.join(p.name for p in args.fasta)}; "
        f"one core ({os.cpu_count()} on the machine, {platform.processor() or platform.machine()}); "
        f"fastest of {args.repeats} calls"
    )
    print("method\tseconds\tsequences_per_s\tratio_vs_ushuffle\treached_of_27")
    results = {}
    for name, (fn, items) in methods.items():
        seconds, _ = timed(fn, items, args.repeats)
        results[name] = args.sequences / seconds
        probe_items = np.tile(encode(probe), (20000, 1)) if items is tokens else [probe] * 20000
        out = fn(probe_items)
        reached = (
            len(set(decode(out)))
            if isinstance(out, np.ndarray)
            else len({o.decode() if isinstance(o, bytes) else o for o in out})
        )
        results[name] = (seconds, args.sequences / seconds, reached)
    base = next((v[1] for k, v in results.items() if k.startswith("uShuffle")), None)
    for name, (seconds, rate, reached) in results.items():
        ratio = f"{rate / base:.2f}" if base else "n/a"
        print(f"{name}\t{seconds:.3f}\t{rate:,.0f}\t{ratio}\t{reached}")


if __name__ == "__main__":
    main()
