"""``overworld evaluate``: held-out likelihood of a model (or the bigram baseline), musical statistics of
generated music against a reference set, and copy detection against the training set."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


DESCRIPTION = (
    "Three evaluations, by the flags given: (1) --model M --data PREPARED: bits per token / note / "
    "second, perplexity and next-token accuracy over a whole split (--model bigram: an add-k bigram "
    "fitted on the train split); (2) --generated DIR --reference DIR: musical statistics of both sets "
    "and their overlapping area (Yang and Lerch 2020), with drum share, bar self-similarity and exact "
    "repeat rate as extra rows outside the mean OA; (3) --generated DIR --train PREPARED: the "
    "longest run of notes copied from the training set and the fraction of 4-bar spans found in it; "
    "(4) --model M --copy-test (--data PREPARED | --reference DIR): primed with the first 12 bars of "
    "each piece, how much the model's next 12 bars repeat the primer's bars against how much the "
    "piece's own bars 13-24 do (mean best Jaccard match of each bar to a primer bar, and the ratio)."
)
INFILL_HELP = (
    "bits per note of held-out gaps of BARS bars (default 4) in each piece of the --split of --data, "
    "given the past only and given past and future (bar-token models)"
)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from overworld.data.splits import SPLITS

    parser = subparsers.add_parser(
        "evaluate",
        help="score a model on held-out data, compare generated music with a reference, detect copying",
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--model", help='model folder, Hub id user/name, "default" (bundled) or "bigram" (baseline)'
    )
    parser.add_argument("--bigram", action="store_true", help="also score the bigram baseline beside --model")
    parser.add_argument("--data", help="prepared folder to score the model on")
    parser.add_argument("--split", default="test", choices=(*SPLITS, "all"), help="which split to score")
    parser.add_argument("--batch-size", type=int, default=8, help="windows per forward pass")
    parser.add_argument(
        "--stride", type=int, default=0, help="sliding-window stride for long files; 0: sequence_length // 2"
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="torch device for the model: auto (cuda, then mps, then cpu), cpu, cuda, cuda:N, mps",
    )
    parser.add_argument("--generated", help="folder of generated MIDI files")
    parser.add_argument(
        "--reference",
        help="folder of reference MIDI files to compare --generated with (or to --copy-test on)",
    )
    parser.add_argument("--train", help="prepared folder whose train split --generated is checked against")
    parser.add_argument("--ngram", type=int, default=8, help="notes per window in the copy-detection index")
    parser.add_argument(
        "--copy-test",
        action="store_true",
        help="the in-context copying test of --model on the --split of --data, or on --reference",
    )
    parser.add_argument("--infill", type=int, nargs="?", const=4, metavar="BARS", help=INFILL_HELP)
    parser.add_argument(
        "--seed", type=int, default=0, help="copy test: the sampling seed of every piece, 0 to 2**32-1"
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="copy test: plain sampling settings, ignoring the model's generation_config.json",
    )
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.set_defaults(func=run)
    return parser


class _ProgressBar:
    """A tqdm bar over scored windows (or tested pieces), with rate and ETA, made on the first call."""

    def __init__(self, unit: str = "window", desc: str = "scoring") -> None:
        self.bar: Any = None
        self.unit, self.desc = unit, desc

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit=self.unit, desc=self.desc, leave=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _check_first(args: argparse.Namespace) -> None:
    """Before any model loads: the seed, every folder given, and where --json goes."""
    from overworld.config import check_seed
    from overworld.data.shards import read_manifest
    from overworld.preflight import readable_folder, writable_file

    check_seed(args.seed, "--seed")
    for flag in ("generated", "reference"):
        if getattr(args, flag):
            readable_folder(getattr(args, flag), f"--{flag}")
    for flag in ("data", "train"):  # scores of a folder nobody prepared (or damaged) mean nothing
        if getattr(args, flag):
            read_manifest(getattr(args, flag))
    if args.json:
        writable_file(args.json, what="--json")


def _realism(args: argparse.Namespace) -> dict:
    """The classifier two-sample test of --generated against --reference, printed; its dict."""
    from overworld.errors import DataError
    from overworld.evaluation.realism import realism_of_folders
    from overworld.evaluation.report import realism_report

    try:
        result = realism_of_folders(args.generated, args.reference, seed=args.seed or 0)
    except DataError as exc:  # too few 4-bar windows: the other figures still stand
        print(f"\nrealism: not measured ({exc})")
        return {"reason": str(exc)}
    print("\n" + realism_report(result, args.generated, args.reference))
    return result.to_dict()


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from overworld.errors import ConfigError

    _check_first(args)
    if args.copy_test:
        return _copy_test(args)
    if args.infill is not None:
        return _infill(args)
    out: dict[str, Any] = {}
    if args.model or args.bigram:
        out.update(_likelihood(args))
    if args.generated and args.reference:
        out.update(_statistics(args))
    if args.generated and args.train:
        out["copying"] = _copying(args)
    if not out:
        raise ConfigError(
            "nothing to evaluate: give --model M --data PREPARED, --generated DIR --reference DIR, "
            "or --generated DIR --train PREPARED"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(_finite(out), indent=1), encoding="utf-8")
    return 0


def _likelihood(args: argparse.Namespace) -> dict[str, Any]:
    """--model (and/or --bigram) on --data: the likelihood table, printed; the results as a dict."""
    from overworld.errors import ConfigError
    from overworld.evaluation.bigram import evaluate_bigram
    from overworld.evaluation.report import likelihood_table

    if not args.data:
        raise ConfigError("--model needs --data PREPARED (a folder made by `overworld prepare`)")
    results = {}
    if args.model and args.model != "bigram":
        results["model"] = _model_likelihood(args)
    if args.bigram or args.model == "bigram":
        results["bigram"] = evaluate_bigram(args.data, args.split)
    print(f"likelihood on the {args.split} split of {args.data}")
    print(likelihood_table(results))
    if len(results) == 1:
        return next(iter(results.values())).to_dict()
    return {**results["model"].to_dict(), "bigram": results["bigram"].to_dict()}


def _model_likelihood(args: argparse.Namespace) -> Any:
    from overworld.devices import pick_device
    from overworld.evaluation.likelihood import evaluate_model
    from overworld.models.storage import load_model

    device = pick_device(args.device)
    pretrained = load_model(args.model, device=device)
    bar = _ProgressBar()
    result = evaluate_model(
        pretrained.model,
        pretrained.tokenizer,
        args.data,
        args.split,
        batch_size=args.batch_size,
        stride=args.stride,
        device=device,
        progress=bar,
    )
    bar.close()
    return result


def _statistics(args: argparse.Namespace) -> dict[str, Any]:
    """--generated against --reference: musical statistics and the realism test, printed."""
    from overworld.evaluation.metrics import compare_folders
    from overworld.evaluation.report import statistics_report

    comparison = compare_folders(args.generated, args.reference)
    print("\n" + statistics_report(comparison, args.generated, args.reference))
    return {"metrics": comparison.to_dict(), "realism": _realism(args)}


def _copying(args: argparse.Namespace) -> dict[str, Any]:
    """--generated against --train's train split: copy detection, printed."""
    from overworld.evaluation.copying import detect_copies_in_folder
    from overworld.evaluation.report import copying_report

    report = detect_copies_in_folder(args.generated, args.train, n=args.ngram)
    print("\n" + copying_report(report, args.generated, args.train))
    return report.to_dict()


def _infill(args: argparse.Namespace) -> int:
    """``--infill BARS``: held-out gaps scored past-only and with the future."""
    import json
    from pathlib import Path

    from overworld.data.shards import read_split
    from overworld.devices import pick_device
    from overworld.errors import ConfigError
    from overworld.evaluation.infill import infill_likelihood
    from overworld.models.storage import load_model

    if not args.model or args.model == "bigram" or not args.data:
        raise ConfigError("--infill needs --model M (a bar-token model) and --data PREPARED [--split test]")
    pretrained = load_model(args.model, device=pick_device(args.device))
    report = infill_likelihood(pretrained, read_split(args.data, args.split), bars=args.infill)
    what = f"{report.gaps} gaps of {report.bars} bars in {report.pieces} pieces ({report.skipped} too short)"
    print(f"infilling on the {args.split} split of {args.data}: {what}, {report.notes} notes")
    print(f"  bits per note, past only:        {report.bits_per_note_past:.3f}")
    print(
        f"  bits per note, past and future:  {report.bits_per_note_both:.3f}  ({report.reduction:.1%} lower)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=1), encoding="utf-8")
    return 0


def _copy_test(args: argparse.Namespace) -> int:
    """``--copy-test``: the copying test of ``--model`` on a prepared split or a reference folder."""
    import json
    from pathlib import Path

    from overworld.config import SampleConfig
    from overworld.devices import pick_device
    from overworld.errors import ConfigError
    from overworld.evaluation.copy_test import copy_test, files_in_folder, files_of_split
    from overworld.evaluation.report import copy_test_table
    from overworld.models.storage import load_model

    if not args.model or args.model == "bigram" or bool(args.data) == bool(args.reference):
        raise ConfigError(
            "--copy-test needs --model M and one of --data PREPARED [--split test] or --reference DIR"
        )
    files = files_of_split(args.data, args.split) if args.data else files_in_folder(args.reference)
    pretrained = load_model(args.model, device=pick_device(args.device))
    bar = _ProgressBar(unit="piece", desc="copy test")
    settings = SampleConfig() if args.raw else pretrained.sampling
    report = copy_test(pretrained, files, settings, seed=args.seed, progress=bar)
    bar.close()
    print(copy_test_table(report))
    if args.json:
        Path(args.json).write_text(json.dumps(_finite(report.to_dict()), indent=1), encoding="utf-8")
    return 0


def _finite(x: Any) -> Any:
    """JSON has no NaN: undefined values become null."""
    import math

    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    return x
