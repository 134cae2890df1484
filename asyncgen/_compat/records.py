"""``QuerySample`` and ``QuerySampleResponse`` as the reference binding has them.

A response carries its bytes by address: ``data`` is the integer address of ``size`` bytes
(``array.array(...).buffer_info()[0]``, a NumPy array's ``ctypes.data``), exactly as the
reference takes it. The bytes are read only when the response is logged (see ``complete``).
Both records are plain slotted objects and pickle (the reference's response does not unpickle).
"""

from __future__ import annotations


class QuerySample:
    """One sample of a query: ``id`` (pass it back in the response) and ``index`` (QSL index)."""

    __slots__ = ("id", "index")

    def __init__(self, id: int = 0, index: int = 0) -> None:
        self.id = id
        self.index = index

    def __reduce__(self) -> tuple[type[QuerySample], tuple[int, int]]:
        return QuerySample, (self.id, self.index)

    def __repr__(self) -> str:
        return f"QuerySample(id={self.id}, index={self.index})"


class QuerySampleResponse:
    """A finished sample: its ``id``, the ``data`` address and ``size`` of its bytes, tokens."""

    __slots__ = ("data", "id", "n_tokens", "size")

    def __init__(
        self,
        id: int = 0,
        data: int = 0,
        size: int = 0,
        n_tokens: int = 0,
    ) -> None:
        self.id = id
        self.data = data
        self.size = size
        self.n_tokens = n_tokens

    def __reduce__(self) -> tuple[type[QuerySampleResponse], tuple[int, int, int, int]]:
        return QuerySampleResponse, (self.id, self.data, self.size, self.n_tokens)

    def __repr__(self) -> str:
        return (
            f"QuerySampleResponse(id={self.id}, data={self.data!r}, size={self.size}, "
            f"n_tokens={self.n_tokens})"
        )


class VectorQuerySample(list[QuerySample]):
    """The binding's ``std::vector<QuerySample>`` type: a list."""


class VectorQuerySampleResponse(list[QuerySampleResponse]):
    """The binding's ``std::vector<QuerySampleResponse>`` type: a list."""
