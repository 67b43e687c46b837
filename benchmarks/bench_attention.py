"""Training speed and peak memory of relative attention (skewed vs naive) and fused attention (SDPA).

Claims checked, side by side in one run:

- the skewing trick needs at most a quarter of the naive reference's memory at L = 1024;
- the fused variant (RoPE through ``scaled_dot_product_attention``, ``is_causal=True``) trains at least
  2x faster than skewed relative attention at L = 2048 on a GPU (on a CPU the figures are printed only);
- with ``--variants fused fused-dropout``: dropout on the attention weights (``attention_dropout``) makes
  SDPA fall back to its unfused kernel; the ratio column shows what that costs (why it is off by default).

Each (variant, length) runs in its own subprocess, so one measurement cannot inherit another's memory.
Peak memory is the extra memory of the training steps (forward + backward + optimizer) over the memory
held just before them: on CUDA ``torch.cuda.max_memory_allocated()`` minus ``memory_allocated()``; on CPU
the growth of the process's peak resident set (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), measured
after the model, optimizer and inputs exist, with glibc's mmap threshold fixed at 1 MiB so that freed
tensors leave the resident set at once instead of lingering in the heap. Speed is training tokens per second (batch x length per
step) over the timed steps, after warm-up steps.

    python benchmarks/bench_attention.py                       # CPU defaults: a few minutes on 2 cores
    python benchmarks/bench_attention.py --d-model 256 --heads 4 --layers 2 --batch 4   # bigger, on GPU
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

VARIANTS = ("skewed", "naive", "fused")
DESCRIPTIONS = {
    "skewed": "relative attention, skewing trick (O(L^2) memory)",
    "naive": "relative attention, naive reference (L x L x D tensor)",
    "fused": "RoPE through scaled_dot_product_attention (is_causal=True)",
    "alibi": "ALiBi through scaled_dot_product_attention (float bias)",
    "fused-dropout": "the fused variant with attention_dropout 0.1",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lengths", type=int, nargs="+", default=[512, 1024, 2048], help="sequence lengths")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=sorted(DESCRIPTIONS))
    parser.add_argument("--batch", type=int, default=1, help="sequences per step (default 1)")
    parser.add_argument("--d-model", type=int, default=64, help="embedding size (default 64)")
    parser.add_argument("--heads", type=int, default=2, help="attention heads (default 2: head dim 32)")
    parser.add_argument("--layers", type=int, default=1, help="Transformer blocks (default 1)")
    parser.add_argument("--vocab", type=int, default=256, help="vocabulary size (default 256)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps (default 3)")
    parser.add_argument("--device", default="auto", help="auto (cuda if available), cpu or cuda")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--no-bf16", action="store_true", help="on CUDA, train in float32 (flash needs bf16)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # "variant:length": run one measurement
    return parser


def _measure(args: argparse.Namespace, variant: str, length: int) -> dict:
    """One measurement in this process: tokens/s and peak extra memory (MiB) of training steps."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    model = _model(args, variant, length).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    batch = torch.randint(0, args.vocab, (args.batch, length + 1), generator=generator).to(device)
    use_bf16 = device.type == "cuda" and not args.no_bf16

    def train_step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = model(batch[:, :-1])  # (B, L, V)
            loss = F.cross_entropy(logits.reshape(-1, args.vocab).float(), batch[:, 1:].reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    base = _memory(device, reset=True)
    for _ in range(args.warmup):
        train_step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        train_step()
    _sync(device)
    elapsed = time.perf_counter() - start
    peak = _memory(device) - base
    return {
        "variant": variant,
        "length": length,
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "tokens_per_s": args.batch * length * args.steps / elapsed,
        "peak_mib": peak / 2**20,
    }


def _model(args: argparse.Namespace, variant: str, length: int):
    """The variant's model (on the CPU), its relative attention set to skew or to the naive reference."""
    from overworld.config import ModelConfig
    from overworld.models.build import build_model
    from overworld.models.relative_attention import RelativeSelfAttention

    attention = {"skewed": "relative", "naive": "relative", "fused": "rope", "alibi": "alibi"}.get(
        variant, "rope"
    )
    config = ModelConfig(
        attention=attention,
        vocab_size=args.vocab,
        embedding_size=args.d_model,
        sequence_length=length,
        num_blocks=args.layers,
        num_heads=args.heads,
        feed_forward_dim=4 * args.d_model,
        dropout=0.0,
        attention_dropout=0.1 if variant == "fused-dropout" else 0.0,
    )
    model = build_model(config, seed=0)
    for module in model.modules():
        if isinstance(module, RelativeSelfAttention):
            module.method = "naive" if variant == "naive" else "skew"
    return model


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def _memory(device, reset: bool = False) -> int:
    """Bytes: on CUDA the peak allocated since the last reset (``reset``: now allocated, the peak reset);
    on the CPU the process's peak resident set (Linux reports KiB)."""
    import torch

    if device.type != "cuda":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if reset:
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()
    return torch.cuda.max_memory_allocated()


def _run_child(args: argparse.Namespace, variant: str, length: int) -> dict | None:
    """Measure in a fresh interpreter; ``None`` (with the reason on stderr) if it failed, e.g. OOM."""
    command = [sys.executable, __file__, *sys.argv[1:], "--child", f"{variant}:{length}"]
    # a fixed glibc mmap threshold: large tensors are mapped and unmapped, never parked in the heap,
    # so the peak resident set follows the peak of live tensors
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(1 << 20)}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        print(f"  {variant} L={length} failed: {reason}", file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None or denominator == 0:
        return "n/a"
    return f"{numerator / denominator:.2f}"


def _print_speed_and_memory(
    args: argparse.Namespace, results: dict[tuple[str, int], dict], device: str
) -> None:
    """The setup, then tokens/s and peak MiB of each variant at each length."""
    print(
        f"attention benchmark on {device}: batch {args.batch}, d_model {args.d_model}, heads {args.heads} "
        f"(head dim {args.d_model // args.heads}), layers {args.layers}, vocab {args.vocab}, "
        f"{args.warmup} warm-up + {args.steps} timed training steps (forward + backward + AdamW)"
    )
    for variant in args.variants:
        print(f"  {variant:7s} {DESCRIPTIONS[variant]}")
    print("peak memory: extra over the model and inputs (CUDA: max_memory_allocated; CPU: ru_maxrss growth)")
    header = f"{'L':>6}" + "".join(f" | {v + ' tok/s':>13} {v + ' MiB':>11}" for v in args.variants)
    print(header)
    print("-" * len(header))
    for length in args.lengths:
        row = f"{length:>6}"
        for variant in args.variants:
            result = results.get((variant, length))
            if result is None:
                row += f" | {'failed':>13} {'':>11}"
            else:
                row += f" | {result['tokens_per_s']:>13.0f} {result['peak_mib']:>11.1f}"
        print(row)


def _print_ratios(args: argparse.Namespace, results: dict[tuple[str, int], dict], device: str) -> None:
    """The ratios the claims are about, and the claims against what was measured."""

    def value(variant: str, length: int, key: str) -> float | None:
        result = results.get((variant, length))
        return None if result is None else result[key]

    print()
    print(f"{'L':>6} | {'skewed/naive memory':>19} | {'fused/skewed speed':>18} | {'naive/skewed speed':>18}")
    for length in args.lengths:
        print(
            f"{length:>6} | {_ratio(value('skewed', length, 'peak_mib'), value('naive', length, 'peak_mib')):>19}"
            f" | {_ratio(value('fused', length, 'tokens_per_s'), value('skewed', length, 'tokens_per_s')):>18}"
            f" | {_ratio(value('naive', length, 'tokens_per_s'), value('skewed', length, 'tokens_per_s')):>18}"
        )
    if "fused-dropout" in args.variants:
        print()
        print(f"{'L':>6} | {'fused/fused-dropout speed':>25}")
        for length in args.lengths:
            ratio = _ratio(
                value("fused", length, "tokens_per_s"), value("fused-dropout", length, "tokens_per_s")
            )
            print(f"{length:>6} | {ratio:>25}")
    print()
    memory = _ratio(value("skewed", 1024, "peak_mib"), value("naive", 1024, "peak_mib"))
    speed = _ratio(value("fused", 2048, "tokens_per_s"), value("skewed", 2048, "tokens_per_s"))
    on_gpu = "cuda" in str(args.device) or (device not in ("cpu", "?"))
    print(f"target: skewed needs <= 0.25 x naive memory at L=1024: measured {memory}")
    print(
        f"target: fused trains >= 2x faster than skewed at L=2048 on a GPU: measured {speed}"
        + ("" if on_gpu else " (CPU figure; the target is for a GPU)")
    )


def main() -> int:
    args = _parser().parse_args()
    if args.child:
        variant, length = args.child.split(":")
        print(json.dumps(_measure(args, variant, int(length))))
        return 0
    results: dict[tuple[str, int], dict] = {}
    device = "?"
    for length in args.lengths:
        for variant in args.variants:
            result = _run_child(args, variant, length)
            if result is not None:
                results[variant, length] = result
                device = result["device"]
    _print_speed_and_memory(args, results, device)
    _print_ratios(args, results, device)
    return 0


if __name__ == "__main__":
    sys.exit(main())
