"""Sample libraries over common dataset files; each is also a ``PayloadSource``.

- ``JsonLinesQSL``: one sample per line of a JSON Lines file — a request object (sent as the
  JSON body), a prompt string, or ``{"prompt": ...}`` / ``{"messages": [...]}`` for
  ``OpenAISUT``.
- ``FolderQSL``: one sample per file of a folder (sorted by name), sent as raw bytes.
- ``NumpyQSL``: one sample per row of a ``.npy`` array (or an ``.npz`` member), sent as raw
  bytes or a JSON list.

Token-shaped data (docs/workloads.md): ``Tokenizer`` reads a Hugging Face ``tokenizer.json``
offline and counts content tokens; ``ExactText`` makes texts of exactly N of them.

Files are read and checked when the library is made, so a bad file fails at once with its path
and line; a folder's files are read when their samples are loaded (untimed), as the reference
QSL contract has it. ``payload(index)`` returns the same ``Payload`` object for an index every
time, so the HTTP SUTs encode each request once.
"""

from asyncgen._errors import DatasetError
from asyncgen.datasets._exact import ExactText
from asyncgen.datasets._files import FolderQSL, JsonLinesQSL, NumpyQSL
from asyncgen.datasets._tokenizer import Tokenizer

__all__ = ["DatasetError", "ExactText", "FolderQSL", "JsonLinesQSL", "NumpyQSL", "Tokenizer"]
