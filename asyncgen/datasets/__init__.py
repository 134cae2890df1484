"""Sample libraries over common dataset files; each is also a ``PayloadSource``.

- ``JsonLinesQSL``: one sample per line of a JSON Lines file — a request object (sent as the
  JSON body), a prompt string, or ``{"prompt": ...}`` / ``{"messages": [...]}`` for
  ``OpenAISUT``.
- ``FolderQSL``: one sample per file of a folder (sorted by name), sent as raw bytes.
- ``NumpyQSL``: one sample per row of a ``.npy`` array (or an ``.npz`` member), sent as raw
  bytes or a JSON list.

Token-shaped data (docs/workloads.md): ``Tokenizer`` reads a Hugging Face ``tokenizer.json``
offline and counts content tokens; ``ExactText`` makes texts of exactly N of them;
``BlockPrompts`` makes trace-replay prompts from hash-id blocks (Mooncake traces).

- ``SyntheticQSL``: prompts of drawn token lengths, exact under a tokenizer, with
  ``max_tokens`` drawn too, and optional shared prefixes.
- ``ConversationQSL``: one request per conversation of a ShareGPT JSON or OpenAI chat JSON
  Lines file (its first user turn), with the first answer's length as ``max_tokens``; in a
  multi-turn run, every turn with the server's real answers so far.
- ``TraceQSL``: one request per record of an arrival trace (Mooncake format), a prompt of
  exactly its ``input_length`` tokens from its ``hash_ids`` blocks, ``max_tokens`` its
  ``output_length``.

Conversations: ``read_conversations`` reads ShareGPT JSON or OpenAI chat JSON Lines into
``Conversation``s of ``Turn``s (``ConversationFile`` says what it found).

Files are read and checked when the library is made, so a bad file fails at once with its path
and line; a folder's files are read when their samples are loaded (untimed), as the reference
QSL contract has it. ``payload(index)`` returns the same ``Payload`` object for an index every
time, so the HTTP SUTs encode each request once.
"""

from asyncgen._errors import DatasetError
from asyncgen.datasets._blocks import MOONCAKE_BLOCK_TOKENS, BlockPrompts
from asyncgen.datasets._conversation_qsl import ConversationQSL
from asyncgen.datasets._conversations import (
    Conversation,
    ConversationFile,
    Turn,
    measure_conversations,
    read_conversations,
)
from asyncgen.datasets._exact import ExactText
from asyncgen.datasets._files import FolderQSL, JsonLinesQSL, NumpyQSL
from asyncgen.datasets._synthetic import Lengths, SyntheticQSL, SyntheticSpec
from asyncgen.datasets._tokenizer import Tokenizer
from asyncgen.datasets._trace_qsl import TraceQSL

__all__ = [
    "MOONCAKE_BLOCK_TOKENS",
    "BlockPrompts",
    "Conversation",
    "ConversationFile",
    "ConversationQSL",
    "DatasetError",
    "ExactText",
    "FolderQSL",
    "JsonLinesQSL",
    "Lengths",
    "NumpyQSL",
    "SyntheticQSL",
    "SyntheticSpec",
    "Tokenizer",
    "TraceQSL",
    "Turn",
    "measure_conversations",
    "read_conversations",
]
