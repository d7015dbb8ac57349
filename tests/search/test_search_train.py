"""Training a feature identifier (edgesdk_export.search): pairs from real encodes, a tiny
training run, and the quantized network against the float one."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.torch


def test_pairs_are_latents_and_labels_of_decoded_pixels():
    import edgesdk
    from edgesdk.search.labels import pixel_labels
    from edgesdk_export.search import latent_pairs

    rng = np.random.default_rng(0)
    images = [np.clip(rng.normal(90 + 60 * i, 30, (40, 70, 3)), 0, 255).astype(np.uint8) for i in range(2)]
    with edgesdk.ImageCodec("lite", quality=1) as codec:
        pairs = latent_pairs(codec, images, 1)
        decoded = [codec.decode(codec.encode(image)) for image in images]
    assert pairs["shapes"].tolist() == [[128, 3, 5], [128, 3, 5]] and pairs["inputs"].dtype == np.int8
    assert np.allclose(pairs["labels"], [pixel_labels(d) for d in decoded])


def test_tiny_training_gives_a_working_integer_identifier():
    import torch

    from edgesdk.search.identifier import FeatureIdentifier, identifier_from_manifest
    from edgesdk.search.labels import COMPONENTS
    from edgesdk_export.search_train import CellNetwork, quantize, split_pairs, train_float, train_identifier

    rng = np.random.default_rng(1)
    count, shape = 16, (16, 4, 6)
    latents = rng.integers(-30, 30, (count, *shape)).astype(np.int8)
    # Learnable labels: statistics from the mean of a few channels, a "face" where a channel peaks.
    means = latents.reshape(count, 16, -1).mean(axis=2) / 30
    labels = np.concatenate([0.5 + 0.4 * means[:, :6], (latents[:, 6].max(axis=(1, 2)) > 27)[:, None]], axis=1)
    pairs = {"inputs": latents.reshape(-1), "shapes": np.array([shape] * count), "labels": labels}
    blob, entry, report = train_identifier(pairs, steps=12, hidden=8)
    identifier = identifier_from_manifest({**entry, "file": "x"}, blob, "test")
    assert identifier.names == COMPONENTS and entry["training"]["steps"] == 12
    assert set(report["test"]) == {*COMPONENTS[:-1], "face_precision", "face_recall"}
    # The integer network computes what the float one does, up to quantization.
    inputs, _ = split_pairs(pairs)
    net = train_float(inputs, labels, np.ones_like(labels), 12, 0, hidden=8)
    integer = FeatureIdentifier(quantize(net, inputs).to_blob(), identifier.components).network
    with torch.no_grad():
        reference = net(torch.from_numpy(latents.astype(np.float32))).numpy()
    cells = np.stack([integer.run(x) for x in latents]).astype(np.float64) / 4096
    assert np.corrcoef(cells.ravel(), reference.ravel())[0, 1] > 0.99
    assert np.percentile(np.abs(cells - reference), 99) < 0.05 * np.abs(reference).max()
    assert isinstance(net, CellNetwork)
