"""The `hark` command. Each sub-command lives beside its stage in a module exposing
`configure(parser)` and `run(args) -> int`; it is imported only when used, so that
`hark --help` stays instant."""

from __future__ import annotations

import argparse
import importlib
import sys

from hark.errors import HarkError

COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("hark.synth.command", "generate a synthetic Speech-Commands-shaped dataset (eSpeak NG)"),
    "data": ("hark.data.command", "dataset utilities: download Speech Commands, describe a dataset"),
    "check": ("hark.data.check_command", "check a dataset: corrupt files, balance, leakage, previews"),
    "models": ("hark.models.command", "list the registered models with parameter counts"),
    "train": ("hark.train.command", "train a model on a dataset"),
    "evaluate": ("hark.evaluate.command", "metrics and per-clip predictions of a trained run"),
    "predict": ("hark.evaluate.predict_command", "top-k words for WAV files of any rate and length"),
    "export": ("hark.evaluate.export_command", "export a trained run to ONNX"),
    "analyze": ("hark.analysis.command", "find, explain and rank why a run fails"),
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
        prog="hark", description=__doc__.splitlines()[0], epilog=_overview(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND", help="see the list below")
    if not argv or argv[0] not in COMMANDS:
        top.parse_args(argv[:1])  # prints help or a clear error listing valid commands
        return 2
    name, rest = argv[0], argv[1:]
    module_name, help_ = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"hark {name}", description=help_)
    module.configure(parser)
    args = parser.parse_args(rest)
    try:
        return int(module.run(args) or 0)
    except HarkError as err:
        print(f"hark {name}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hark {name}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
