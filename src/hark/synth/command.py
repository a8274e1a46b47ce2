"""`hark synth OUT`: write the built-in synthetic Speech Commands dataset."""

from __future__ import annotations

import argparse

from hark.synth.faults import DEFAULT_FAULTS, FAULTS, parse_faults
from hark.synth.generate import DEFAULT_UTTERANCES, DEFAULT_WORDS, synthesize
from hark.synth.voices import DEFAULT_SPEAKERS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "out", metavar="OUT", help="folder to write (created; a previous hark synth set there is replaced)"
    )
    parser.add_argument(
        "--words",
        default=",".join(DEFAULT_WORDS),
        help="comma-separated words (default: the 35 words of Speech Commands v0.02)",
    )
    parser.add_argument(
        "--speakers", type=int, default=DEFAULT_SPEAKERS, help="synthetic speakers (default %(default)s)"
    )
    parser.add_argument(
        "--utterances",
        type=int,
        default=DEFAULT_UTTERANCES,
        help="utterances per speaker and word (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="same seed and arguments, same bytes (default %(default)s)")
    parser.add_argument(
        "--faults",
        default=",".join(f"{k}={v}" for k, v in DEFAULT_FAULTS.items()),
        help=f"fault rates KEY=RATE,... with keys {', '.join(FAULTS)}, or 'none' (default %(default)s)",
    )
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all available cores)")


def run(args: argparse.Namespace) -> int:
    rates = parse_faults(args.faults)
    words = [w for w in args.words.split(",") if w.strip()]
    out = synthesize(
        args.out,
        words=words,
        speakers=args.speakers,
        utterances=args.utterances,
        seed=args.seed,
        faults=rates,
        workers=args.workers,
        progress=not args.quiet,
    )
    clips = len(words) * args.speakers * args.utterances
    print(f"wrote {clips} clips of {len(words)} words by {args.speakers} speakers to {out}")
    print(
        f"injected faults (truth in {out / 'faults.csv'}): "
        + (", ".join(f"{k} {v:.0%}" for k, v in rates.items()) or "none")
    )
    return 0
