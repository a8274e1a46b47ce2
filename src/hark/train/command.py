"""`hark train DATA --out RUN`: a preset, then single-field overrides, then training."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hark.errors import HarkError, UsageError
from hark.train.config import TrainConfig
from hark.train.presets import PRESETS, preset

# Shortcut options and the config field each one sets.
SHORTCUTS = {
    "model": "model.name", "epochs": "run.epochs", "batch_size": "run.batch_size", "lr": "optim.lr",
    "device": "run.device", "seed": "run.seed", "task": "data.task",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="?", help="dataset: Speech Commands folder or .tar.gz, folder-per-class "
                        "dataset, or hark manifest (.json); may be omitted with --config")
    parser.add_argument("--out", required=True, type=Path, help="run folder to create (or continue with --resume)")
    parser.add_argument("--preset", default="default", help=f"recipe to start from: {', '.join(sorted(PRESETS))}")
    parser.add_argument("--config", type=Path, help="start from a run's config.json instead of a preset")
    parser.add_argument("--model", help="model name (see `hark models`)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int, help="global batch size (split across processes under torchrun)")
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--seed", type=int)
    parser.add_argument("--task", choices=["all", "12"], help="all words, or the 10 words + silence + unknown task")
    parser.add_argument("--resume", action="store_true", help="continue RUN from checkpoints/last.pt")
    parser.add_argument("--seeds", type=int, metavar="N",
                        help="train N runs with seeds SEED..SEED+N-1 into RUN/seed-K/ (for `hark compare` spreads)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override any config field, e.g. --set augment.noise_prob=0.5 (repeatable)")


def build_config(args: argparse.Namespace) -> TrainConfig:
    config = TrainConfig.load(args.config) if args.config else preset(args.preset)
    if args.data:
        config.data.source = str(Path(args.data).resolve())
    for option, target in SHORTCUTS.items():
        value = getattr(args, option)
        if value is not None:
            config.override(f"{target}={json.dumps(value)}")
    for assignment in args.overrides:
        config.override(assignment)
    if not config.data.source:
        raise HarkError("no dataset: give DATA or a --config that names one")
    return config


def run(args: argparse.Namespace) -> int:
    from hark.models import list_models
    from hark.train.run import train_run

    config = build_config(args)
    if config.model.name not in list_models():
        raise HarkError(f"unknown model {config.model.name!r}; valid models: {', '.join(list_models())}")
    if args.seeds is None:
        train_run(config, args.out, resume=args.resume)
        return 0
    if args.seeds < 1:
        raise UsageError(f"--seeds {args.seeds}: give at least 1")
    first = config.run.seed
    for k in range(args.seeds):
        config.run.seed = first + k
        train_run(config, args.out / f"seed-{k}", resume=args.resume)
    return 0
