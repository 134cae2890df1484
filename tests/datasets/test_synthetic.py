"""Synthetic token-shaped prompts: exact lengths, drawn distributions, seeds, prefixes."""

from __future__ import annotations

import random
import statistics
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncgen.datasets import (
    DatasetError,
    ExactText,
    Lengths,
    SyntheticQSL,
    SyntheticSpec,
    Tokenizer,
)
from tests.tokenizers import KINDS


@pytest.fixture(scope="module")
def exact(tiny_tokenizers: dict[str, Path]) -> dict[str, ExactText]:
    return {kind: ExactText(Tokenizer.from_file(path)) for kind, path in tiny_tokenizers.items()}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.asyncio
async def test_prompts_are_exactly_the_drawn_lengths(
    exact: dict[str, ExactText], kind: str
) -> None:
    for seed in range(4):
        qsl = SyntheticQSL(
            exact[kind], isl=256, isl_stdev=96, osl=64, osl_stdev=16, samples=60, seed=seed
        )
        await qsl.load_samples(range(60))
        for i in range(60):
            body = qsl.payload(i).json
            assert exact[kind].tokenizer.count(body["prompt"]) == qsl.input_tokens(i)
            assert body["max_tokens"] == qsl.output_lengths[i] >= 1


def test_the_same_seed_gives_the_same_samples(exact: dict[str, ExactText]) -> None:
    def make(seed: int) -> SyntheticQSL:
        return SyntheticQSL(
            exact["bytelevel"], isl=100, isl_stdev=30, osl=20, samples=20, seed=seed
        )

    one, two, other = make(1), make(1), make(2)
    assert [one.payload(i) for i in range(20)] == [two.payload(i) for i in reversed(range(20))][
        ::-1
    ]
    assert one.input_lengths == two.input_lengths != other.input_lengths
    assert one.payload(0).json["prompt"] != other.payload(0).json["prompt"]


def test_lengths_follow_the_truncated_normal() -> None:
    rng = random.Random(3)
    lengths = Lengths(mean=512, stdev=128, low=400, high=700)
    draws = [lengths.draw(rng) for _ in range(20_000)]
    assert min(draws) == 400 and max(draws) == 700
    # the truncated normal's mean: mu + sigma * (phi(a) - phi(b)) / (Phi(b) - Phi(a))
    nd = statistics.NormalDist()
    a, b = (399.5 - 512) / 128, (700.5 - 512) / 128
    pdf = nd.pdf
    expected = 512 + 128 * (pdf(a) - pdf(b)) / (nd.cdf(b) - nd.cdf(a))
    assert statistics.fmean(draws) == pytest.approx(expected, abs=2.0)
    # no mass piled at a bound: the bound is as likely as its neighbour
    assert abs(draws.count(400) - draws.count(401)) < 40
    assert Lengths(mean=7).draw(rng) == 7
    wide = [Lengths(mean=10, stdev=50).draw(rng) for _ in range(2000)]
    assert min(wide) >= 1


def test_shared_prefixes(exact: dict[str, ExactText]) -> None:
    qsl = SyntheticQSL(exact["metaspace"], isl=50, prefix_tokens=40, prefixes=3, samples=9, seed=5)
    prompts = [qsl.payload(i).json["prompt"] for i in range(9)]
    tokenizer = exact["metaspace"].tokenizer
    assert len(set(qsl.prefix_texts)) == 3
    for i, prompt in enumerate(prompts):
        assert prompt.startswith(qsl.prefix_texts[i % 3])
        assert tokenizer.count(qsl.prefix_texts[i % 3]) == 40
        assert tokenizer.count(prompt) == qsl.input_tokens(i) == 90
        assert "max_tokens" not in qsl.payload(i).json
    assert len(set(prompts)) == 9


def test_spec_text() -> None:
    spec = SyntheticSpec.parse("isl=512,isl_stdev=128, osl=128,osl_stdev=32,osl_max=200,samples=10")
    assert spec.isl == Lengths(mean=512, stdev=128)
    assert spec.osl == Lengths(mean=128, stdev=32, high=200)
    assert spec.samples == 10
    assert str(spec) == "isl=512,isl_stdev=128,osl=128,osl_stdev=32,osl_max=200,samples=10"
    assert SyntheticSpec.parse(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("osl=5", "isl .* is required"),
        ("isl=5,isl_stdv=3", "unknown key 'isl_stdv' \\(did you mean 'isl_stdev'\\?\\)"),
        ("isl=5,osl_stdev=3", "need osl"),
        ("isl=five", "isl='five': expected a whole number"),
        ("isl=5,isl_stdev=-1", "standard deviation must be >= 0"),
        ("isl=5,isl_min=6", "mean 5 must lie within \\[6, inf\\]"),
        ("isl=5,isl_max=4", "mean 5 must lie within \\[1, 4\\]"),
        ("isl=5,prefixes=0", "at least 1"),
        ("isl=5,samples=0", "at least 1"),
        ("isl=5,isl_min=0", "minimum length must be at least 1"),
        ("isl", "expected key=value"),
    ],
)
def test_spec_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SyntheticSpec.parse(text)


def test_bad_arguments_are_dataset_errors(exact: dict[str, ExactText]) -> None:
    with pytest.raises(DatasetError, match=r"synthetic: isl .* is required"):
        SyntheticQSL(exact["bytelevel"], isl=None)  # type: ignore[arg-type]


@st.composite
def _lengths(draw: st.DrawFn) -> Lengths:
    low = draw(st.integers(1, 5000))
    mean = draw(st.integers(low, low + 5000))
    high = draw(st.none() | st.integers(mean, mean + 5000))
    stdev = draw(st.sampled_from([0.0, 0.5, 3.0, 100.0, 10_000.0]))
    return Lengths(mean=mean, stdev=stdev, low=low, high=high)


@given(lengths=_lengths(), seed=st.integers(0, 2**32))
def test_every_draw_lies_within_the_bounds(lengths: Lengths, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(20):
        value = lengths.draw(rng)
        assert lengths.low <= value and (lengths.high is None or value <= lengths.high)


@given(isl=_lengths(), osl=st.none() | _lengths(), prefix=st.integers(0, 99), k=st.integers(1, 9))
def test_a_spec_reads_back_its_own_text(
    isl: Lengths, osl: Lengths | None, prefix: int, k: int
) -> None:
    spec = SyntheticSpec(isl=isl, osl=osl, prefix_tokens=prefix, prefixes=k if prefix else 1)
    assert SyntheticSpec.parse(str(spec)) == spec
