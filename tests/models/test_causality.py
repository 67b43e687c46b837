"""Causality: the output at step t has zero gradient with respect to every input after t."""

from __future__ import annotations

import torch

from overworld.models.build import build_model


def test_output_t_does_not_depend_on_later_inputs(any_config):
    variant = f"{any_config.model}/{any_config.attention}"
    model = build_model(any_config, seed=1).eval()
    length = 8
    ids = torch.randint(0, 13, (1, length), generator=torch.Generator().manual_seed(2))
    embedded = model.embedding(ids).detach().requires_grad_(True)  # (1, T, C)
    original = model.embedding.forward
    model.embedding.forward = lambda _ids: embedded  # feed differentiable embeddings through the model
    try:
        logits = model(ids)  # (1, T, V)
        for t in range(length):
            (grad,) = torch.autograd.grad(logits[0, t].sum(), embedded, retain_graph=True)
            per_position = grad[0].abs().sum(-1)  # (T,)
            assert torch.all(per_position[t + 1 :] == 0), f"{variant}: output {t} sees the future"
            assert per_position[t] > 0, f"{variant}: output {t} ignores its own input"
    finally:
        model.embedding.forward = original
