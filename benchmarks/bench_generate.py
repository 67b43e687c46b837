"""Generation speed: cached incremental decoding vs re-running the whole window for every token.

Claim checked, side by side in one run: with the model's cache (``new_cache`` / ``step``, one
incremental step per token) generation is at least 10x faster than the seed projects' way (a full
``forward`` over the last ``context`` tokens for every new token) at context 2048 on a CPU.

Both ways start from a window already full (``context - 1`` tokens of history), as in long generation
past the model's length, where the cache slides its window. The model is a realistic Music Transformer
with skewed relative attention (default 4 blocks, width 256, 4 heads, feed-forward 1024), batch 1, in
inference mode; the time per token includes sampling (softmax + multinomial). Tokens/s are over the
timed tokens after one warm-up token. The sampler's own per-token work (grammar mask, filters,
state update) is timed apart and printed in milliseconds. On a GPU (``--device cuda``, the default when CUDA is there) the
same table is printed for it.

    python benchmarks/bench_generate.py                     # CPU: a few minutes on 2 cores
    python benchmarks/bench_generate.py --contexts 1024 2048 --full-tokens 3 --cached-tokens 32

Then, for a trained model (``--model``, default the bundled one) with its recommended settings: seconds of
music composed per second of compute at batch 1 and 8 (``--batches``), ``--bars`` bars a piece, with the
milliseconds per token of the model's one-token steps and of the rest (grammar, filters, sampling).

    python benchmarks/bench_generate.py --real-time-only --batches 1
    git worktree add /tmp/old <commit>   # then this checkout beside that one, interleaved, same load:
    python benchmarks/bench_generate.py --real-time-only --batches 1 --baseline /tmp/old/src --rounds 5
    python benchmarks/bench_generate.py --step-ms 100 1000 2047 3000   # ms per one-token step, batch 1
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from overworld.config import ModelConfig
from overworld.models import build_model
from overworld.tokenizers import vocab as V


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _sample(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.multinomial(torch.softmax(logits.float(), dim=-1), 1, generator=generator)  # (B, 1)


def measure(args: argparse.Namespace, context: int, device: torch.device) -> tuple[float, float]:
    """Tokens/s of (cached, full-window) decoding at ``context``."""
    torch.manual_seed(0)
    config = ModelConfig(vocab_size=V.VOCAB_SIZE, embedding_size=args.d_model, sequence_length=context,
                         num_blocks=args.layers, num_heads=args.heads, feed_forward_dim=4 * args.d_model,
                         dropout=0.0)  # fmt: skip
    model = build_model(config).to(device).eval()
    generator = torch.Generator(device=device).manual_seed(0)
    history = torch.randint(
        V.NOTE_ON_OFFSET, V.VOCAB_SIZE, (1, context - 1), generator=generator, device=device
    )
    with torch.inference_mode():
        # cached: fill the cache with the history (chunked), then one step per token
        cache = model.new_cache(1, device)
        for begin in range(0, context - 1, context // 2):
            logits = model.step(history[:, begin : begin + context // 2], cache)[:, -1]
        token = _sample(logits, generator)
        logits = model.step(token, cache)[:, -1]  # warm-up
        _sync(device)
        start = time.perf_counter()
        for _ in range(args.cached_tokens):
            token = _sample(logits, generator)
            logits = model.step(token, cache)[:, -1]  # (1, V)
        _sync(device)
        cached = args.cached_tokens / (time.perf_counter() - start)

        # full window: forward over the last ``context`` tokens for every new token
        ids = history
        token = _sample(model(ids)[:, -1], generator)  # warm-up
        ids = torch.cat([ids, token], dim=1)[:, -context:]
        _sync(device)
        start = time.perf_counter()
        for _ in range(args.full_tokens):
            token = _sample(model(ids)[:, -1], generator)
            ids = torch.cat([ids, token], dim=1)[:, -context:]  # (1, context)
        _sync(device)
        full = args.full_tokens / (time.perf_counter() - start)
    return cached, full


def grammar_overhead(steps: int, device: torch.device) -> float:
    """Milliseconds per token of the sampler's own work at batch 1: grammar mask, filters, update."""
    from overworld.config import SampleConfig
    from overworld.generation.filters import apply_filters
    from overworld.tokenizers.performance_grammar import PerformanceGrammar

    grammar = PerformanceGrammar(1, device=device)
    config = SampleConfig(temperature=0.9, top_k=32, top_p=0.95)
    generator = torch.Generator(device=device).manual_seed(0)
    logits = torch.randn(1, V.VOCAB_SIZE, generator=generator, device=device)
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        masked = apply_filters(logits.masked_fill(~grammar.allowed(), float("-inf")), config)
        token = _sample(masked, generator).squeeze(1)
        grammar.update(token)
    _sync(device)
    return (time.perf_counter() - start) / steps * 1000


class _TimedSteps:
    """Wraps a model's ``step`` (on the instance, for this benchmark only) to add up the time of its
    one-token steps, which is the model's share of a token; the rest is the sampler's."""

    def __init__(self, lm: torch.nn.Module, device: torch.device) -> None:
        self.lm, self.inner, self.device = lm, lm.step, device
        self.seconds, self.cpu_seconds, self.steps = 0.0, 0.0, 0
        lm.step = self

    def __call__(self, ids: torch.Tensor, cache: object) -> torch.Tensor:
        if ids.shape[1] != 1:
            return self.inner(ids, cache)
        start, cpu_start = time.perf_counter(), time.thread_time()
        logits = self.inner(ids, cache)
        _sync(self.device)
        self.seconds += time.perf_counter() - start
        self.cpu_seconds += time.thread_time() - cpu_start
        self.steps += 1
        return logits

    def close(self) -> None:
        del self.lm.step  # the class's method again


def real_time(
    model_dir: str, bars: int, batches: list[int], device: torch.device, header: bool = True
) -> None:
    """Seconds of music per second of compute of a trained model (default: the bundled one) with its
    recommended settings, ``bars`` bars a piece, at each batch size; the milliseconds per token in all
    and those of the model's one-token steps (the rest is the grammar, filters, sampling). The CPU
    seconds (the process's, and the model steps' thread time) say how much of the wall clock was work on a
    busy machine."""
    from overworld.generation.pieces import compose_pieces
    from overworld.models.storage import load_model

    model = load_model(model_dir, device=device)
    if header:
        print(f"\n{model_dir}: {sum(p.numel() for p in model.model.parameters()) / 1e6:.2f} M parameters, "
              f"{model.tokenizer.name} tokens, recommended settings, {bars} bars a piece")  # fmt: skip
        print(f"{'code':<10}{'batch':>6}{'music s':>10}{'compute s':>11}{'x real time':>13}{'cpu s':>7}{'tokens':>8}"
              f"{'ms/tok':>8}{'model ms/tok':>14}{'model cpu ms/tok':>18}{'load':>6}")  # fmt: skip
    for batch in batches:
        compose_pieces(model, model.sampling, num=batch, bars=1, seed=0)  # warm-up
        _sync(device)
        timed = _TimedSteps(model.model, device)
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            pieces = compose_pieces(model, model.sampling, num=batch, bars=bars, seed=1)
        finally:
            timed.close()
        _sync(device)
        took, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        music, steps = sum(p.seconds for p in pieces), max(1, timed.steps)
        code = f"{device.type}" if not os.environ.get("BENCH_LABEL") else os.environ["BENCH_LABEL"]
        print(f"{code:<10}{batch:>6}{music:>10.1f}{took:>11.2f}{music / took:>12.1f}x{cpu:>7.1f}{timed.steps:>8}"
              f"{took / steps * 1000:>8.2f}{timed.seconds / steps * 1000:>14.2f}"
              f"{timed.cpu_seconds / steps * 1000:>18.2f}{os.getloadavg()[0]:>6.1f}", flush=True)  # fmt: skip


def side_by_side(args: argparse.Namespace) -> None:
    """The real-time table of this checkout (or the package at ``--candidate``) and of the package at
    ``--baseline`` (a ``src`` folder, e.g. of ``git worktree add /tmp/old <commit>``), each in a fresh
    process, ``--rounds`` times interleaved (each first in every other round), so both meet the same load;
    the median ratio of the pairs is printed last."""
    import re
    import statistics
    import subprocess
    import sys

    command = [sys.executable, __file__, "--real-time-only", "--device", "cpu", "--model", args.model,
               "--bars", str(args.bars), "--batches", *map(str, args.batches), "--quiet-header"]  # fmt: skip
    speed = re.compile(r"([\d.]+)x")
    ratios = []
    for round_ in range(args.rounds):
        found = {}
        ways = [("baseline", args.baseline), ("this", args.candidate)]
        for label, path in ways if round_ % 2 == 0 else ways[::-1]:  # each goes first in every other round
            env = dict(os.environ, BENCH_LABEL=label)
            if path:
                env["PYTHONPATH"] = path
            line = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout.strip()
            print(line.splitlines()[-1], flush=True)
            found[label] = float(speed.findall(line.splitlines()[-1])[0])
        ratios.append(found["this"] / found["baseline"])
        print(f"round {round_ + 1}: this / baseline = {ratios[-1]:.2f}", flush=True)
    print(f"median of {len(ratios)} rounds: this / baseline = {statistics.median(ratios):.2f}")


def step_times(model_dir: str, lengths: list[int], steps: int, device: torch.device) -> None:
    """Milliseconds per one-token ``model.step`` of a trained model at batch 1 with ``lengths`` tokens
        already fed (past ``sequence_length - 1`` the cache holds a full window and slides): the median and
        the 10th percentile of ``steps`` steps (the percentile is the least disturbed by other work). Threads as
    ``generate`` chooses them (``OVERWORLD_THREADS`` to set)."""
    from overworld.models.storage import load_model
    from overworld.threads import choose_threads

    lm = load_model(model_dir, device=device).model.eval()
    choose_threads(batch=1, parameters=lm.num_parameters())  # as generate does
    generator = torch.Generator(device=device).manual_seed(0)
    ids = torch.randint(V.NOTE_ON_OFFSET, lm.config.vocab_size, (1, max(lengths) + steps), generator=generator,
                        device=device)  # fmt: skip
    chunk = max(1, lm.config.sequence_length // 2)
    print(
        f"\n{model_dir}: ms per one-token step, batch 1, {torch.get_num_threads()} CPU threads, {steps} steps"
    )
    print(f"{'device':<8}{'cached':>8}{'median ms':>11}{'p10 ms':>9}")
    with torch.inference_mode():
        for length in lengths:
            cache = lm.new_cache(1, device)
            for begin in range(0, length, chunk):
                lm.step(ids[:, begin : min(length, begin + chunk)], cache)
            times = []
            for t in range(length, length + steps):
                start = time.perf_counter()
                lm.step(ids[:, t : t + 1], cache)
                _sync(device)
                times.append(time.perf_counter() - start)
            times.sort()
            median, p10 = times[len(times) // 2] * 1000, times[len(times) // 10] * 1000
            print(f"{device.type:<8}{length:>8}{median:>11.3f}{p10:>9.3f}", flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--d-model", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--cached-tokens", type=int, default=32, help="timed tokens, cached (default: 32)")
    parser.add_argument("--full-tokens", type=int, default=3, help="timed tokens, full window (default: 3)")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default: auto: both)")
    parser.add_argument(
        "--model", default="default", help="trained model for the real-time table (default: bundled)"
    )
    parser.add_argument(
        "--bars", type=int, default=16, help="bars a piece in the real-time table (default: 16)"
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8], help="batch sizes (default: 1 8)")
    parser.add_argument(
        "--real-time-only", action="store_true", help="only the trained model's real-time table"
    )
    parser.add_argument("--step-ms", type=int, nargs="+", metavar="CACHED",
                        help="only the trained model's ms per one-token step with CACHED tokens fed (e.g. 100 1000 2047 "
                        "3000)")  # fmt: skip
    parser.add_argument("--baseline", metavar="SRC",
                        help="also time the package at SRC (a worktree's src/), interleaved, side by side")  # fmt: skip
    parser.add_argument("--candidate", metavar="SRC",
                        help="with --baseline: time the package at SRC as 'this' (default: this checkout)")  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved rounds with --baseline (default: 3)"
    )
    parser.add_argument("--quiet-header", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=200, help="timed steps for --step-ms (default: 200)")
    return parser


def main() -> None:
    args = _parser().parse_args()
    devices = [torch.device("cpu")]
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        devices = (
            [torch.device("cuda")] if args.device == "cuda" else [torch.device("cpu"), torch.device("cuda")]
        )
    if args.baseline:
        side_by_side(args)
        return
    if args.step_ms:
        for device in devices:
            step_times(args.model, args.step_ms, args.steps, device)
        return
    for device in devices if args.real_time_only else ():
        real_time(args.model, args.bars, args.batches, device, header=not args.quiet_header)
    if args.real_time_only:
        return
    print(f"Music Transformer (relative attention), {args.layers} blocks, d={args.d_model}, {args.heads} heads, "
          f"batch 1; torch {torch.__version__}, {torch.get_num_threads()} CPU threads")  # fmt: skip
    print(f"{'device':<8}{'context':>8}{'cached tok/s':>14}{'full-window tok/s':>19}{'speed-up':>10}")
    for device in devices:
        for context in args.contexts:
            cached, full = measure(args, context, device)
            print(
                f"{device.type:<8}{context:>8}{cached:>14.1f}{full:>19.2f}{cached / full:>9.1f}x", flush=True
            )
        ms = grammar_overhead(200, device)
        print(
            f"{device.type:<8}grammar mask + filters + update: {ms:.2f} ms per token (batch 1, random logits)"
        )
    for device in devices:
        real_time(args.model, args.bars, args.batches, device)


if __name__ == "__main__":
    main()
