"""`hark models`: every registered model with its parameter count, built on the spot."""

from __future__ import annotations

import argparse

from hark.models import count_parameters, create_model, describe_model, list_models


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--num-classes",
        type=int,
        default=35,
        help="classes to size the output layer for (default: 35, Speech Commands v2)",
    )
    parser.add_argument("--sample-rate", type=int, default=16000, help="input sample rate in Hz (default: 16000)")


def run(args: argparse.Namespace) -> int:
    rows = []
    for name in list_models():
        model = create_model(name, args.num_classes, sample_rate=args.sample_rate)
        rows.append((name, f"{count_parameters(model):,}", str(model.embedding_dim), describe_model(name)))
    header = ("model", "parameters", "embedding", "description")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(3)]
    print(f"{header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}  {header[2]:>{widths[2]}}  {header[3]}")
    for name, params, embedding, description in rows:
        print(f"{name:<{widths[0]}}  {params:>{widths[1]}}  {embedding:>{widths[2]}}  {description}")
    print(f"(parameter counts for {args.num_classes} classes)")
    return 0
