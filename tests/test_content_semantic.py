"""The near-duplicate check by meaning: pairs above the threshold, closest first; the real model
is used only where `make content` installed it."""

from typing import Any

import pytest

from bot.content import Prompt
from bot.content_semantic import Encoder, ModelMissing, semantic_pairs

np = pytest.importorskip("numpy")


class _Fixed(Encoder):
    def __init__(self, vectors: dict[str, list[float]]) -> None:
        super().__init__({}, None, np)
        self.vectors = vectors

    def embed(self, texts: Any, on_layer: Any = None) -> Any:
        return np.array([self.vectors[t] for t in texts], dtype=float)


def _p(prompt_id: str, text: str) -> Prompt:
    return Prompt.model_validate(
        {"id": prompt_id, "topic": "gratitude", "for": "both", "path": "both", "text": text}
    )


def test_pairs_above_the_threshold_come_closest_first() -> None:
    encoder = _Fixed({"a": [1, 0, 0], "b": [0.9, 0.1, 0], "c": [0, 0, 1], "d": [0, 1, 0]})
    prompts = [_p("x-01", "a"), _p("x-02", "b"), _p("x-03", "c"), _p("x-04", "d")]
    pairs = semantic_pairs(prompts, encoder, threshold=0.5)
    assert [(a.id, b.id) for _, a, b in pairs] == [("x-01", "x-02")]
    assert semantic_pairs(prompts, encoder, threshold=1.01) == []


def test_the_packaged_model_sees_a_pause_with_a_return_time_twice() -> None:
    try:
        encoder = Encoder.load()
    except ModelMissing:
        pytest.skip("the model is installed by `make content`")
    # Two prompts issue 23 named as one idea, beside prompts that ask for other things.
    texts = [
        "Agree on a way to ask for a pause that names a return time, such as 'I need twenty "
        "minutes; I'll come find you at half past.'",
        "Settle one simple rule for time-outs: whoever calls the pause is the one who reaches out "
        "afterwards, within an hour or at a time you name.",
        "Plan a free library date: choose a book for each other and read the first page aloud.",
        "Thank your partner for one specific thing they did this week.",
        "Ask each other: which smell or sound takes you straight back to childhood?",
        "Look together at what couples counselling near you would involve.",
    ]
    vectors = encoder.embed(texts)
    cosine = vectors @ vectors.T
    assert np.allclose(np.diag(cosine), 1.0, atol=1e-5)  # normalised, as sentence-transformers
    assert cosine[0, 1] > max(cosine[0, 2:]) and cosine[0, 1] > max(cosine[1, 2:])
