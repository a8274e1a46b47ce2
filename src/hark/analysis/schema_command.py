"""`hark schema`: the published format of a predictions file that `hark analyze --predictions`
reads, so that a model trained with any framework can be analysed. Standard library only."""

from __future__ import annotations

import argparse
import json

from hark import schema

COLUMNS = (
    (
        schema.PATH,
        "string",
        "required",
        "the clip's path relative to DATA's root, forward slashes (a manifest's `path` column); "
        "`file#N` = the window at sample N of a longer file",
    ),
    (schema.LABEL, "string", "required", "the clip's label, one of the class list"),
    (schema.SPLIT, "string", "optional", "train, validation or test (default: the split DATA gives the clip)"),
    (
        schema.PROBS,
        "fixed_size_list<float32>[C]",
        "required",
        "the model's probabilities (non-negative, each row summing to 1), in the class order below",
    ),
    (
        schema.EMBEDDING,
        "fixed_size_list<float32>[D]",
        "optional",
        "a per-clip embedding (e.g. the input of the last layer); without it the log-probabilities stand in",
    ),
    (
        schema.OOF_PROBS,
        "fixed_size_list<float32>[C]",
        "optional",
        "out-of-fold probabilities (each clip scored by a model that did not train on it); without them "
        "the label-error step uses `probs`, in-sample, and says so",
    ),
    (schema.SPEAKER, "string", "optional", "speaker id (default: DATA's)"),
)


def schema_document() -> dict:
    return {
        "name": "hark predictions",
        "version": schema.SCHEMA_VERSION,
        "format": "Apache Parquet, one row per clip",
        "columns": [{"name": n, "type": t, "presence": p, "meaning": m} for n, t, p, m in COLUMNS],
        "metadata": {
            schema.LABELS_METADATA_KEY.decode(): "JSON list of the C class names in the order of probs "
            "(or pass --labels FILE: one name per line, or a JSON list)",
            schema.SCHEMA_METADATA_KEY.decode(): f"the schema version ({schema.SCHEMA_VERSION})",
            schema.DATA_ROOT_METADATA_KEY.decode(): "optional: the folder the paths are relative to",
        },
        "variable_length_lists": "list<float> columns are accepted when every row has the same length",
    }


def schema_text() -> str:
    document = schema_document()
    width = max(len(c["name"]) for c in document["columns"])
    lines = [f"hark predictions schema, version {document['version']} ({document['format']})", "", "columns:"]
    for column in document["columns"]:
        lines.append(f"  {column['name']:<{width}}  {column['type']:<29} {column['presence']:<9} {column['meaning']}")
    lines += ["", "Parquet key-value metadata:"]
    lines += [f"  {key}: {meaning}" for key, meaning in document["metadata"].items()]
    lines += [
        "",
        f"Lists: {document['variable_length_lists']}.",
        "Analyse: hark analyze --predictions P.parquet --data DATA --out DIR [--labels FILE]",
    ]
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="the schema as JSON instead of text")


def run(args: argparse.Namespace) -> int:
    print(json.dumps(schema_document(), indent=1) if args.json else schema_text())
    return 0
