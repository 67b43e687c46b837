"""A tiny model memorises one batch: the loss falls near zero in a couple of hundred steps."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from overworld.models.build import build_model


@pytest.mark.parametrize("variant", ["relative", "rope", "lstm"])
def test_tiny_model_overfits_one_batch(tiny_config, variant):
    if variant == "lstm":
        config = dataclasses.replace(tiny_config, model="lstm", lstm_hidden_size=32, lstm_layers=1)
    else:
        config = dataclasses.replace(tiny_config, attention=variant, embedding_size=32, num_blocks=1)
    model = build_model(config, seed=0).train()
    batch = torch.randint(0, 13, (4, 9), generator=torch.Generator().manual_seed(0))  # (B, T + 1)
    inputs, targets = batch[:, :-1], batch[:, 1:]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(200):
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, config.vocab_size), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05, f"{variant}: loss {loss.item():.3f} after 200 steps"
