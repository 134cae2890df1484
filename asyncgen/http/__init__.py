"""HTTP adapters: point asyncgen at a server instead of writing a SUT.

- ``HttpSUT``: any HTTP endpoint; each sample sends the request its ``Payload`` describes, and
  the response body completes it.
- ``OpenAISUT``: OpenAI-compatible LLM servers (vLLM, SGLang, TGI, llama.cpp, OpenAI), streamed:
  first token and token counts feed TTFT, TPOT and tokens/s.
- ``make_sut("http" | "openai", base_url, source, **options)``: either, by name.

Failures (refused connections, timeouts, HTTP errors, malformed responses) fail their sample
with a reason ``"<kind>: <detail>"`` and are counted per kind in the SUT's ``failures``.
The QSLs of ``asyncgen.datasets`` are payload sources. See ``docs/http.md``.
"""

from asyncgen.http._factory import make_sut
from asyncgen.http._failures import FAILURE_KINDS, FailureCounts, FailureKind
from asyncgen.http._http_sut import HttpSUT
from asyncgen.http._openai import OpenAISUT
from asyncgen.http._payload import ConversationSource, Payload, PayloadSource

__all__ = [
    "FAILURE_KINDS",
    "ConversationSource",
    "FailureCounts",
    "FailureKind",
    "HttpSUT",
    "OpenAISUT",
    "Payload",
    "PayloadSource",
    "make_sut",
]
