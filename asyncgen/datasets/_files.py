"""The file QSLs: JSON Lines, a folder of files, a NumPy array (see ``asyncgen.datasets``)."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from asyncgen._errors import DatasetError
from asyncgen._plan.files import check_regular_file, parse_json, read_text
from asyncgen.http._payload import Payload

StrPath = str | os.PathLike[str]


class _FileQSL:
    """What the dataset QSLs share: counts, name, request shape, no-op unload."""

    def __init__(
        self,
        path: StrPath,
        total: int,
        *,
        performance_sample_count: int | None,
        name: str | None,
        method: str,
        request_path: str,
        headers: Mapping[str, str] | None,
    ) -> None:
        if total == 0:
            raise DatasetError("holds no samples", path=str(path))
        if performance_sample_count is not None and performance_sample_count < 1:
            raise DatasetError(
                f"performance_sample_count must be positive, not {performance_sample_count}",
                path=str(path),
            )
        self.path = Path(path)
        self._name = name or f"{type(self).__name__}({self.path.name})"
        self._total = total
        self._performance = min(performance_sample_count or total, total)
        self._method = method
        self._request_path = request_path
        self._headers = dict(headers or {})

    @property
    def name(self) -> str:
        return self._name

    @property
    def total_sample_count(self) -> int:
        return self._total

    @property
    def performance_sample_count(self) -> int:
        return self._performance

    async def load_samples(self, indices: Sequence[int]) -> None:
        """Nothing to load: the samples are in memory."""

    async def unload_samples(self, indices: Sequence[int]) -> None:
        """Nothing to unload."""

    def _payload(
        self, *, json_value: Any = None, body: bytes | None = None, content_type: str = ""
    ) -> Payload:
        headers = self._headers
        if content_type and not any(name.lower() == "content-type" for name in headers):
            headers = {**headers, "Content-Type": content_type}
        return Payload(
            method=self._method,
            path=self._request_path,
            json=json_value,
            body=body,
            headers=headers,
        )


class JsonLinesQSL(_FileQSL):
    """One sample per non-blank line of a JSON Lines file.

    A line holding an object becomes the JSON body of its request (for ``OpenAISUT`` it holds
    ``prompt`` or ``messages`` and any other request fields); a line holding a string is a
    prompt, sent as ``{"prompt": ...}``. With ``prompt_field``, each line's value under that
    key is the prompt (the rest of the line is ignored: handy for datasets with answers in
    them). ``method``, ``request_path`` and ``headers`` shape every request.
    """

    def __init__(
        self,
        path: StrPath,
        *,
        performance_sample_count: int | None = None,
        name: str | None = None,
        prompt_field: str | None = None,
        method: str = "POST",
        request_path: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        records = _read_json_lines(Path(path), prompt_field)
        super().__init__(
            path,
            len(records),
            performance_sample_count=performance_sample_count,
            name=name,
            method=method,
            request_path=request_path,
            headers=headers,
        )
        self.records: list[Any] = records
        self._payloads = [self._payload(json_value=r) for r in records]

    def payload(self, index: int) -> Payload:
        return self._payloads[index]


def _read_json_lines(path: Path, prompt_field: str | None) -> list[Any]:
    text = read_text(path)
    records: list[Any] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            records.append(_record(parse_json(line, path, number), prompt_field, path, number))
    if not records:
        raise DatasetError("holds no samples (no non-blank lines)", path=str(path))
    return records


def _record(value: Any, prompt_field: str | None, path: Path, number: int) -> Any:
    if isinstance(value, str):
        return {"prompt": value}
    if not isinstance(value, dict):
        raise DatasetError(
            f"expected a JSON object or string, found {type(value).__name__}",
            path=str(path),
            line=number,
        )
    if prompt_field is None:
        return value
    if prompt_field not in value:
        raise DatasetError(f"no {prompt_field!r} field", path=str(path), line=number)
    return {"prompt": value[prompt_field]}


class FolderQSL(_FileQSL):
    """One sample per regular file of a folder, in name order; the file's bytes are the body.

    ``pattern`` (a glob, ``*`` by default) picks the files; hidden files are skipped. The
    ``Content-Type`` is ``content_type`` if given, else guessed from each file's extension.
    Files are read when their samples are loaded and dropped when unloaded.
    """

    def __init__(
        self,
        path: StrPath,
        *,
        pattern: str = "*",
        performance_sample_count: int | None = None,
        name: str | None = None,
        content_type: str | None = None,
        method: str = "POST",
        request_path: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        folder = Path(path)
        if not folder.is_dir():
            raise DatasetError("is not a folder", path=str(folder))  # a loop is not one either
        self.files = sorted(
            f for f in folder.glob(pattern) if f.is_file() and not f.name.startswith(".")
        )
        super().__init__(
            path,
            len(self.files),
            performance_sample_count=performance_sample_count,
            name=name,
            method=method,
            request_path=request_path,
            headers=headers,
        )
        self._content_type = content_type
        self._loaded: dict[int, Payload] = {}

    async def load_samples(self, indices: Sequence[int]) -> None:
        for index in indices:
            if index not in self._loaded:
                self._loaded[index] = self._read(index)

    async def unload_samples(self, indices: Sequence[int]) -> None:
        for index in indices:
            self._loaded.pop(index, None)

    def payload(self, index: int) -> Payload:
        """The loaded sample's payload (a sample not loaded is read now)."""
        loaded = self._loaded.get(index)
        return loaded if loaded is not None else self._read(index)

    def _read(self, index: int) -> Payload:
        file = self.files[index]
        try:
            body = file.read_bytes()
        except OSError as exc:
            raise DatasetError(f"cannot read: {exc}", path=str(file)) from exc
        content_type = (
            self._content_type or mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        )
        return self._payload(body=body, content_type=content_type)


class NumpyQSL(_FileQSL):
    """One sample per row (first axis) of a ``.npy`` array, or of one array of an ``.npz``.

    Rows are sent as their raw bytes (C order, the array's dtype) with ``Content-Type:
    application/octet-stream``, or with ``as_json`` as a JSON list — wrapped as
    ``{json_key: [...]}`` when ``json_key`` is given. A ``.npy`` file is memory-mapped; from an
    ``.npz`` archive, ``key`` names the array (needed when it holds more than one). Rows become
    payloads when they are loaded.
    """

    def __init__(
        self,
        path: StrPath,
        *,
        performance_sample_count: int | None = None,
        name: str | None = None,
        as_json: bool = False,
        json_key: str | None = None,
        key: str | None = None,
        method: str = "POST",
        request_path: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.array = _load_array(Path(path), key)
        super().__init__(
            path,
            len(self.array),
            performance_sample_count=performance_sample_count,
            name=name,
            method=method,
            request_path=request_path,
            headers=headers,
        )
        if json_key is not None and not as_json:
            raise ValueError("json_key needs as_json=True")
        self._as_json = as_json
        self._json_key = json_key
        self._loaded: dict[int, Payload] = {}

    async def load_samples(self, indices: Sequence[int]) -> None:
        for index in indices:
            if index not in self._loaded:
                self._loaded[index] = self._row(index)

    async def unload_samples(self, indices: Sequence[int]) -> None:
        for index in indices:
            self._loaded.pop(index, None)

    def payload(self, index: int) -> Payload:
        """The loaded row's payload (a row not loaded is read now)."""
        loaded = self._loaded.get(index)
        return loaded if loaded is not None else self._row(index)

    def _row(self, index: int) -> Payload:
        row = self.array[index]
        if not self._as_json:
            body = np.ascontiguousarray(row).tobytes()
            return self._payload(body=body, content_type="application/octet-stream")
        value = row.tolist()
        return self._payload(json_value={self._json_key: value} if self._json_key else value)


def _load_array(path: Path, key: str | None) -> np.ndarray[Any, Any]:
    check_regular_file(path)
    try:
        loaded = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"not a readable .npy or .npz file: {exc}", path=str(path)) from exc
    if isinstance(loaded, np.ndarray):
        array = loaded
        if key is not None:
            raise DatasetError(f"key {key!r} given, but this is a .npy array", path=str(path))
    else:  # an .npz archive: one of its arrays, read into memory
        with loaded:
            names = list(loaded.files)
            if key is None and len(names) != 1:
                raise DatasetError(
                    f"holds {len(names)} arrays ({', '.join(names)}); choose one with key=",
                    path=str(path),
                )
            name = key if key is not None else names[0]
            if name not in names:
                raise DatasetError(f"has no array {name!r} (it has {names})", path=str(path))
            try:
                array = loaded[name]
            except ValueError as exc:
                raise DatasetError(f"array {name!r} cannot be read: {exc}", path=str(path)) from exc
    if array.ndim == 0:
        raise DatasetError("holds a single value, not rows", path=str(path))
    return array
