"""The `hark` command. Each sub-command lives beside its stage in a module exposing
`configure(parser)` and `run(args) -> int`; it is imported only when used, so that
`hark --help` stays instant.

Exit codes: 0 success, 1 a problem found while running (`HarkError`: bad data, a missing
file, a full disk), 2 a usage mistake (`UsageError`, or an option argparse refuses), 130
interrupted."""

from __future__ import annotations

import argparse
import importlib
import sys

from hark import __version__
from hark.errors import HarkError, UsageError

DESCRIPTION = """Train keyword-spotting models, then find out, with evidence, why they fail and what to fix first.

The loop: hark check DATA -> hark train DATA --out RUN -> hark evaluate RUN -> hark analyze RUN
-> hark explore RUN -> hark fix RUN -> retrain -> hark compare. DATA is a Speech Commands folder
or archive, a folder per class, a manifest (.csv/.tsv/.jsonl/.json), SpeechBrain CSVs or a
Hugging Face dataset. `hark analyze --predictions` analyses any model's predictions
(`hark schema` prints their format). `hark COMMAND --help` explains each command."""
EXIT_RUNTIME, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("hark.synth.command", "generate a synthetic Speech-Commands-shaped dataset (eSpeak NG)"),
    "data": ("hark.data.command", "dataset utilities: download, describe, index a flat folder, export to Hugging Face"),
    "check": ("hark.data.check_command", "check a dataset: corrupt files, balance, leakage, previews"),
    "models": ("hark.models.command", "list the registered models with parameter counts"),
    "train": ("hark.train.command", "train a model on a dataset"),
    "evaluate": ("hark.evaluate.command", "metrics and per-clip predictions of a trained run"),
    "predict": ("hark.evaluate.predict_command", "top-k words for WAV files of any rate and length"),
    "export": ("hark.evaluate.export_command", "export a trained run to ONNX"),
    "analyze": ("hark.analysis.command", "find, explain and rank why a run (or any model's predictions) fails"),
    "schema": ("hark.analysis.schema_command", "print the predictions format `hark analyze --predictions` reads"),
    "fix": ("hark.analysis.fix_command", "write a fixed dataset manifest from an analysis"),
    "compare": ("hark.analysis.compare_command", "is run B better than run A, beyond noise, on the clips both share"),
    "explore": ("hark.explorer.command", "browse a run's clips, map and issues in a local web app"),
}


def _overview() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "commands:\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    top = argparse.ArgumentParser(
        prog="hark",
        description=DESCRIPTION,
        epilog=_overview(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"hark {__version__}")
    top.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND", help="see the list below")
    if not argv or argv[0] not in COMMANDS:
        try:
            top.parse_args(argv[:1])  # prints help or version, or a clear error listing valid commands
        except SystemExit as done:
            return int(done.code or 0)
        return EXIT_USAGE
    name, rest = argv[0], argv[1:]
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"hark {name}", description=help_)
    module.configure(parser)
    _add_quiet(parser)
    try:
        args = parser.parse_args(rest)
    except SystemExit as done:  # --help (0) or an option argparse refuses (2)
        return int(done.code or 0)
    if getattr(args, "quiet", False):
        _hide_progress_bars()
    try:
        return int(module.run(args) or 0)
    except UsageError as err:
        print(f"hark {name}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except HarkError as err:
        print(f"hark {name}: error: {err}", file=sys.stderr)
        return EXIT_RUNTIME
    except KeyboardInterrupt:
        print(f"hark {name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _add_quiet(parser: argparse.ArgumentParser) -> None:
    """The same `--quiet` on every command (and every action of one with actions)."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for action in actions:
        for child in dict.fromkeys(action.choices.values()):
            _add_quiet(child)
    if not actions:
        parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _hide_progress_bars() -> None:
    """`--quiet` for every command at once: every progress bar in hark is a tqdm bar, and each
    stage passes its own `disable` (often "auto"), so the switch sits where they all meet."""
    from tqdm import std

    shown = std.tqdm.__init__

    def hidden(self, *args, **kwargs):
        shown(self, *args, **{**kwargs, "disable": True})

    std.tqdm.__init__ = hidden


if __name__ == "__main__":
    sys.exit(main())
