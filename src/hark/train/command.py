"""`hark train DATA --out RUN`: a preset (or a `--config` file), then single-field overrides, then
training. The whole config, and the model's fit to its input, are checked before any data is read."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hark.errors import HarkError, UsageError
from hark.schema import SEED_RUN_PREFIX, TASKS
from hark.train.config import DEVICES, SPEC_AUGMENT_FIELDS, YAML_SUFFIXES, TrainConfig
from hark.train.presets import PRESETS, drop_options_the_model_lacks, preset

# Shortcut options and the config field each one sets.
SHORTCUTS = {
    "model": "model.name",
    "epochs": "run.epochs",
    "batch_size": "run.batch_size",
    "lr": "optim.lr",
    "device": "run.device",
    "seed": "run.seed",
    "task": "data.task",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "data",
        nargs="?",
        help="dataset: Speech Commands folder or .tar.gz, folder-per-class "
        "dataset, or hark manifest (.json); may be omitted with --config",
    )
    parser.add_argument("--out", type=Path, help="run folder to create (or continue with --resume)")
    parser.add_argument(
        "--preset",
        default="default",
        help=f"recipe to start from: {', '.join(sorted(PRESETS))} (default: default, chosen on held-out "
        "real speakers; cpu: the same on a shorter schedule)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help=f"start from a run's config.json (or a config in YAML: {', '.join(YAML_SUFFIXES)}) instead of a preset",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config (a valid --config file) and exit without training",
    )
    parser.add_argument(
        "--model",
        help="model name (see `hark models`); recipe settings it cannot use (a waveform model's "
        "SpecAugment, options of the recipe's own model) are turned off, with a note",
    )
    parser.add_argument("--epochs", type=int, help="training epochs (default: the preset's)")
    parser.add_argument("--batch-size", type=int, help="global batch size (split across processes under torchrun)")
    parser.add_argument("--lr", type=float, help="peak learning rate")
    parser.add_argument("--device", choices=DEVICES, help="where to train (default auto: CUDA if present)")
    parser.add_argument("--seed", type=int, help="random seed: same seed, data and recipe, same run")
    parser.add_argument("--task", choices=TASKS, help="all words, or the 10 words + silence + unknown task")
    parser.add_argument("--resume", action="store_true", help="continue RUN from checkpoints/last.pt")
    parser.add_argument(
        "--seeds",
        type=int,
        metavar="N",
        help="train N runs with seeds SEED..SEED+N-1 into RUN/seed-K/ (for `hark compare` spreads)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.KEY=VALUE",
        help="override any config field, e.g. --set augment.noise_prob=0.5 (repeatable)",
    )


def build_config(args: argparse.Namespace, need_data: bool = True) -> TrainConfig:
    config = TrainConfig.load(args.config) if args.config else preset(args.preset)
    recipe_model = config.model.name
    if args.data:
        config.data.source = str(Path(args.data).resolve())
    for option, target in SHORTCUTS.items():
        value = getattr(args, option)
        if value is not None:
            config.override(f"{target}={json.dumps(value)}", origin=f"--{option.replace('_', '-')}")
    for assignment in args.overrides:
        config.override(assignment)
    if config.augment.noise_dir:  # relative to where the command ran, not to where it is replayed
        from hark.data.folder import load_noise_folder

        config.augment.noise_dir = str(Path(config.augment.noise_dir).resolve())
        load_noise_folder(config.augment.noise_dir)  # a wrong folder stops the run before the data is read
    notes = []
    if config.model.name != recipe_model:  # by --model or --set model.name=...
        notes += _drop_spec_augment_for_waveform_models(config, args.overrides)
        notes += _drop_recipe_options_the_model_lacks(config, args.overrides)
    config.validate("the config")
    if need_data and not config.data.source:
        raise UsageError("no dataset: give DATA or a --config that names one")
    check_model(config)
    for note in notes:  # only for a config that will run, so that a refusal stays one line
        print(f"note: {note}", file=sys.stderr)  # stdout may be --print-config's JSON
    return config


def _drop_spec_augment_for_waveform_models(config: TrainConfig, overrides: list[str]) -> list[str]:
    """`--model m5` on a preset made for a spectrogram model: the preset's SpecAugment cannot
    apply, so it is turned off (and the saved config says so) rather than refused. Masks asked
    for with `--set` are left for the model to refuse."""
    from hark.models import model_options

    if "spec_augment" in model_options(config.model.name):  # an unknown name is refused here
        return []
    asked = {assignment.partition("=")[0].strip() for assignment in overrides}
    if asked & {f"augment.{name}" for name in SPEC_AUGMENT_FIELDS}:
        return []
    dropped = [name for name in SPEC_AUGMENT_FIELDS if getattr(config.augment, name)]
    for name in dropped:
        setattr(config.augment, name, type(getattr(config.augment, name))(0))
    if not dropped:
        return []
    return [
        f"model {config.model.name!r} takes the waveform, not a spectrogram, so the recipe's "
        f"SpecAugment is off: {' '.join(f'augment.{name}=0' for name in dropped)}"
    ]


def _drop_recipe_options_the_model_lacks(config: TrainConfig, overrides: list[str]) -> list[str]:
    """`--model bcresnet-3` on a preset whose model takes options the new one lacks (`default`'s
    `n_mels`): those options are dropped, and the note says which. Options asked for with `--set`
    are left for the model to refuse."""
    if any(assignment.partition("=")[0].strip() == "model.kwargs" for assignment in overrides):
        return []
    dropped = drop_options_the_model_lacks(config)
    if not dropped:
        return []
    return [
        f"model {config.model.name!r} has no option {', '.join(dropped)}, so the recipe's "
        f"{', '.join(f'model.kwargs.{key}' for key in dropped)} is not used"
    ]


def check_model(config: TrainConfig) -> None:
    """Build the model and run it once on a silent clip of the configured length, so that an
    unknown model, a bad `model.kwargs` or an input too short for the model stops the run here."""
    import torch

    from hark.models import list_models
    from hark.train.devices import torch_device
    from hark.train.trainer import build_model

    name, data = config.model.name, config.data
    if name not in list_models():
        raise UsageError(f"unknown model {name!r}; valid models: {', '.join(list_models())}")
    torch_device(config.run.device)
    try:
        model = build_model(config, num_classes=2).eval()
    except HarkError as err:  # the model's own options: a usage mistake here
        raise UsageError(str(err)) from None
    try:
        with torch.no_grad():
            model(torch.zeros(1, data.num_samples))
    except (RuntimeError, ValueError) as err:
        raise UsageError(
            f"model {name!r} cannot run on clips of {data.num_samples} samples at {data.sample_rate} Hz "
            f"(data.num_samples, data.sample_rate): {str(err).splitlines()[0][:200]}"
        ) from None


def run(args: argparse.Namespace) -> int:
    config = build_config(args, need_data=not args.print_config)
    if args.print_config:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    if args.out is None:
        raise UsageError("--out RUN is required: the run folder to create (or continue with --resume)")
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds {args.seeds}: give at least 1")
    from hark.train.run import train_run

    if args.seeds is None:
        train_run(config, args.out, resume=args.resume)
        return 0
    first = config.run.seed
    for k in range(args.seeds):
        config.run.seed = first + k
        train_run(config, args.out / f"{SEED_RUN_PREFIX}{k}", resume=args.resume)
    return 0
