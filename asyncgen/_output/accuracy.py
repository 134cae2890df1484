"""Accuracy-log entries of a series' logged responses, formatted while the run goes on.

An entry is the reference's: the sample's ``seq_id``, its QSL index and its response bytes in
upper-case hex, plus the first token's bytes and the token count in token-latency mode.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from asyncgen._engine.series import Series


def accuracy_entries(series: Series, batch: Sequence[int]) -> Iterator[str]:
    """Entries (without braces) for the logged samples among ``batch``; each response is
    taken from the series once."""
    first_id, indices = series.plan.first_sample_id, series.plan.sample_indices
    with_token_data = series.use_tokens and series.needs_first_token
    for s in batch:
        logged = series.take_logged_response(s)
        if logged is None:
            continue
        data, token = logged
        entry = (
            f'"seq_id" : {first_id + s}, "qsl_idx" : {int(indices[s])}, '
            f'"data" : "{data.hex().upper()}"'
        )
        if with_token_data:
            entry += (
                f', "token_data" : "{token.hex().upper()}", "token_count" : {series.n_tokens[s]}'
            )
        elif series.use_tokens:
            entry += f', "token_count" : {series.n_tokens[s]}'
        yield entry
