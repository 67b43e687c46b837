"""``overworld inspect DIR``: what is in a prepared folder."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="summarise a prepared dataset",
        description="Files, tokens, minutes of music, instruments, splits and failures.",
    )
    p.add_argument("folder", help="a folder written by `overworld prepare`")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from overworld.data.inspect import summarize

    s = summarize(args.folder)
    if args.json:
        print(json.dumps(s, indent=1))
        return 0
    print(
        f"{args.folder}: {s['files']} files, {s['tokens']:,} tokens ({s['tokenizer']}, vocabulary "
        f"{s['vocab_size']}), {s['minutes']} minutes of music, {s['notes']:,} notes"
    )
    print(
        "splits:  "
        + ", ".join(f"{k} {v['files']} files / {v['tokens']:,} tokens" for k, v in s["splits"].items())
    )
    print("sources: " + ", ".join(f"{k} {v}" for k, v in s["sources"].items()))
    print(
        "instruments (files): "
        + ", ".join(f"{k} {v}" for k, v in list(s["instruments"].items())[:12])
        + (" ..." if len(s["instruments"]) > 12 else "")
    )
    print(f"failed: {s['failed']}, duplicates: {s['duplicates']}")
    for reason, n in s["failure_reasons"].items():
        print(f"  {n} x {reason}")
    return 0
