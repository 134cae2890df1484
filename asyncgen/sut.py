"""The system-under-test and sample-library protocols, and the records that cross them.

A SUT is a coroutine-driven object: ``issue_query`` returns once the query is accepted, and each
sample is completed later (or right away) through ``sample.complete(...)``. Completion is
synchronous and cheap, and safe from any thread. See :class:`SystemUnderTest` for the contract.
"""

from asyncgen._engine.protocols import ConversationLibrary, QuerySampleLibrary, SystemUnderTest
from asyncgen._engine.sample import (
    QuerySample,
    QuerySampleResponse,
    TurnSample,
    first_token_complete,
    query_samples_complete,
)
from asyncgen._engine.sink import ResponseData

__all__ = [
    "ConversationLibrary",
    "QuerySample",
    "QuerySampleLibrary",
    "QuerySampleResponse",
    "ResponseData",
    "SystemUnderTest",
    "TurnSample",
    "first_token_complete",
    "query_samples_complete",
]
