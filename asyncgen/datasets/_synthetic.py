"""``SyntheticQSL``: token-shaped synthetic prompts, drawn from a seed.

Each sample draws an input length and an output length — a normal distribution truncated to
``[min, max]`` (by inverse transform: no rejection loop, no mass piled at the bounds), rounded
to whole tokens; a standard deviation of 0 is the mean itself — then a prompt of exactly
that many content tokens (``ExactText``), with ``max_tokens`` = its output length. With
``prefix_tokens=N, prefixes=K``, K distinct prefixes of N tokens are made once and sample
``i`` starts with prefix ``i % K`` (so the loaded samples share them about evenly): its prompt
is ``N`` + its drawn input length in all.

Everything a sample is depends on the seed and its index alone: the same settings give the
same prompts, whatever is loaded first. Prompts are made when their samples are loaded
(untimed, off the event loop), and input token counts are known before.
"""

from __future__ import annotations

import difflib
import math
import random
from collections.abc import Mapping
from statistics import NormalDist
from typing import Any

import attrs

from asyncgen._errors import DatasetError
from asyncgen.datasets._exact import ExactText
from asyncgen.datasets._lazy import MadeOnLoad
from asyncgen.datasets._tokenizer import Tokenizer
from asyncgen.http import Payload

DEFAULT_SAMPLES = 1000
_INT_KEYS = ("isl", "isl_min", "isl_max", "osl", "osl_min", "osl_max", "prefix_tokens")
_COUNT_KEYS = ("prefixes", "samples")
_FLOAT_KEYS = ("isl_stdev", "osl_stdev")
SPEC_KEYS = (*_INT_KEYS, *_FLOAT_KEYS, *_COUNT_KEYS)


@attrs.frozen(kw_only=True)
class Lengths:
    """Token lengths: normal(``mean``, ``stdev``) truncated to [``low``, ``high``], rounded."""

    mean: int
    stdev: float = 0.0
    low: int = 1
    high: int | None = None  # None: no upper bound

    def __attrs_post_init__(self) -> None:
        if self.stdev < 0 or not math.isfinite(self.stdev):
            raise ValueError(f"a standard deviation must be >= 0, not {self.stdev}")
        if self.low < 1:
            raise ValueError(f"a minimum length must be at least 1, not {self.low}")
        if not self.low <= self.mean <= (self.high if self.high is not None else self.mean):
            raise ValueError(
                f"the mean {self.mean} must lie within [{self.low}, {self.high or 'inf'}]"
            )

    def draw(self, rng: random.Random) -> int:
        """One length (one uniform draw from ``rng`` whatever the parameters)."""
        u = rng.random()
        if self.stdev == 0:
            return self.mean
        dist = NormalDist(self.mean, self.stdev)
        # Each whole length k takes the mass of [k - 0.5, k + 0.5]: rounding afterwards
        # gives the normal distribution's mass truncated to [low, high].
        lo = dist.cdf(self.low - 0.5)
        hi = 1.0 if self.high is None else dist.cdf(self.high + 0.5)
        p = min(max(lo + u * (hi - lo), 1e-16), 1 - 1e-16)
        value = math.floor(dist.inv_cdf(p) + 0.5)
        return min(max(value, self.low), self.high if self.high is not None else value)


@attrs.frozen(kw_only=True)
class SyntheticSpec:
    """What ``SyntheticQSL`` draws: input and output lengths, shared prefixes, sample count."""

    isl: Lengths
    osl: Lengths | None = None  # None: no max_tokens in the requests
    prefix_tokens: int = 0
    prefixes: int = 1
    samples: int = DEFAULT_SAMPLES

    def __attrs_post_init__(self) -> None:
        if self.prefix_tokens < 0:
            raise ValueError(f"prefix_tokens must be >= 0, not {self.prefix_tokens}")
        if self.prefixes < 1 or self.samples < 1:
            raise ValueError("prefixes and samples must be at least 1")

    @classmethod
    def parse(cls, text: str) -> SyntheticSpec:
        """From ``"isl=512,isl_stdev=128,osl=128,prefix_tokens=64,prefixes=4,samples=500"``
        (the part after ``synthetic:`` in ``--dataset``)."""
        values: dict[str, Any] = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, raw = item.partition("=")
            key = key.strip()
            if not sep:
                raise ValueError(f"{item!r}: expected key=value")
            if key not in SPEC_KEYS:
                close = difflib.get_close_matches(key, SPEC_KEYS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"unknown key {key!r}{hint}; the keys: {', '.join(SPEC_KEYS)}")
            values[key] = _number(key, raw.strip())
        return cls.from_values(values)

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> SyntheticSpec:
        """From keyword values named as in ``parse`` (``isl`` is required)."""
        if values.get("isl") is None:
            raise ValueError("isl (the mean input length in tokens) is required")
        osl = None
        if values.get("osl") is not None:
            osl = _lengths(values, "osl")
        elif values.get("osl_stdev") or any(
            values.get(k) is not None for k in ("osl_min", "osl_max")
        ):
            raise ValueError("osl_stdev, osl_min and osl_max need osl")
        return cls(
            isl=_lengths(values, "isl"),
            osl=osl,
            prefix_tokens=int(_value(values, "prefix_tokens", 0)),
            prefixes=int(_value(values, "prefixes", 1)),
            samples=int(_value(values, "samples", DEFAULT_SAMPLES)),
        )

    def __str__(self) -> str:
        parts = [f"isl={self.isl.mean}", *_extra("isl", self.isl)]
        if self.osl is not None:
            parts += [f"osl={self.osl.mean}", *_extra("osl", self.osl)]
        if self.prefix_tokens:
            parts += [f"prefix_tokens={self.prefix_tokens}", f"prefixes={self.prefixes}"]
        return ",".join([*parts, f"samples={self.samples}"])


def _value(values: Mapping[str, Any], key: str, default: float) -> Any:
    value = values.get(key)
    return default if value is None else value


def _given(values: Mapping[str, Any]) -> set[str]:
    return {key for key, value in values.items() if value is not None}


def _number(key: str, raw: str) -> float | int:
    try:
        value = float(raw) if key in _FLOAT_KEYS else int(raw)
    except ValueError:
        kind = "a number" if key in _FLOAT_KEYS else "a whole number"
        raise ValueError(f"{key}={raw!r}: expected {kind}") from None
    return value


def _lengths(values: Mapping[str, Any], name: str) -> Lengths:
    return Lengths(
        mean=int(values[name]),
        stdev=float(_value(values, f"{name}_stdev", 0.0)),
        low=int(_value(values, f"{name}_min", 1)),
        high=None if values.get(f"{name}_max") is None else int(values[f"{name}_max"]),
    )


def _extra(name: str, lengths: Lengths) -> list[str]:
    parts = [f"{name}_stdev={lengths.stdev:g}"] if lengths.stdev else []
    if lengths.low != 1:
        parts.append(f"{name}_min={lengths.low}")
    if lengths.high is not None:
        parts.append(f"{name}_max={lengths.high}")
    return parts


def _spec(spec: SyntheticSpec | str | None, values: Mapping[str, Any]) -> SyntheticSpec:
    """The spec from ``spec`` or from the keyword ``values``; ``DatasetError`` if wrong."""
    try:
        if spec is None:
            return SyntheticSpec.from_values(values)
        if _given(values):
            raise ValueError(f"give a spec or the keywords, not both ({sorted(_given(values))})")
        return SyntheticSpec.parse(spec) if isinstance(spec, str) else spec
    except ValueError as exc:
        raise DatasetError(str(exc), path="synthetic") from None


class SyntheticQSL(MadeOnLoad):
    """Synthetic prompts of drawn token lengths: one sample per drawn (input, output) pair.

    The lengths are given as keywords, or as ``spec`` — a ``SyntheticSpec`` or its text,
    ``"isl=512,isl_stdev=128,osl=128"`` — not both. ``isl``/``osl`` are the mean input and
    output lengths in content tokens, ``*_stdev`` their standard deviations (0: every sample
    the mean), ``*_min``/``*_max`` the bounds (default 1 and none), ``samples`` how many
    (default 1000). Sample ``i`` sends ``{"prompt": <exactly its input length>, "max_tokens":
    <its output length>}`` (no ``max_tokens`` without ``osl``); with ``prefix_tokens`` and
    ``prefixes`` its prompt starts with one of ``prefixes`` shared prefixes of
    ``prefix_tokens`` tokens. ``seed`` decides every draw.
    """

    def __init__(
        self,
        tokenizer: Tokenizer | ExactText,
        spec: SyntheticSpec | str | None = None,
        *,
        isl: int | None = None,
        isl_stdev: float | None = None,
        isl_min: int | None = None,
        isl_max: int | None = None,
        osl: int | None = None,
        osl_stdev: float | None = None,
        osl_min: int | None = None,
        osl_max: int | None = None,
        prefix_tokens: int | None = None,
        prefixes: int | None = None,
        samples: int | None = None,
        seed: int = 0,
        performance_sample_count: int | None = None,
        name: str | None = None,
        method: str = "POST",
        request_path: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        values = {
            "isl": isl,
            "isl_stdev": isl_stdev,
            "isl_min": isl_min,
            "isl_max": isl_max,
            "osl": osl,
            "osl_stdev": osl_stdev,
            "osl_min": osl_min,
            "osl_max": osl_max,
            "prefix_tokens": prefix_tokens,
            "prefixes": prefixes,
            "samples": samples,
        }
        spec = _spec(spec, values)
        super().__init__(
            f"synthetic:{spec}",
            spec.samples,
            performance_sample_count=performance_sample_count,
            name=name or f"SyntheticQSL({spec})",
            method=method,
            request_path=request_path,
            headers=headers,
        )
        self.spec, self.seed = spec, seed
        self.exact = tokenizer if isinstance(tokenizer, ExactText) else ExactText(tokenizer)
        draws = [self._lengths(i) for i in range(spec.samples)]
        self.input_lengths = [spec.prefix_tokens + isl for isl, _ in draws]
        self.output_lengths = [osl for _, osl in draws]
        self.prefix_texts = [self._prefix(k) for k in range(spec.prefixes)]

    def _lengths(self, index: int) -> tuple[int, int | None]:
        rng = random.Random(f"asyncgen-synthetic/{self.seed}/lengths/{index}")
        isl = self.spec.isl.draw(rng)
        return isl, None if self.spec.osl is None else self.spec.osl.draw(rng)

    def _prefix(self, k: int) -> str:
        if not self.spec.prefix_tokens:
            return ""
        rng = random.Random(f"asyncgen-synthetic/{self.seed}/prefix/{k}")
        return self.exact.text(self.spec.prefix_tokens, rng)

    def prompt(self, index: int) -> str:
        """Sample ``index``'s prompt: exactly ``input_tokens(index)`` tokens."""
        rng = random.Random(f"asyncgen-synthetic/{self.seed}/text/{index}")
        prefix = self.prefix_texts[index % self.spec.prefixes]
        return self.exact.text(self.input_lengths[index], rng, prefix=prefix)

    def input_tokens(self, index: int) -> int:
        """Sample ``index``'s prompt length in content tokens (prefix included)."""
        return self.input_lengths[index]

    def _make(self, index: int) -> Payload:
        body: dict[str, Any] = {"prompt": self.prompt(index)}
        if self.output_lengths[index] is not None:
            body["max_tokens"] = self.output_lengths[index]
        return self._payload(json_value=body)
