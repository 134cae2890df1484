"""``asyncgen verify OUTDIR``: do a run's files agree with each other?

A log that silently misses data is worse than no log, so this check reads every file of a run
and cross-checks them: the detail log parses line by line and its error and warning counts are
the summary footer's; the accuracy log is a JSON array of distinct samples, as many as
``results.json`` says, none of them a sample reported missing; the verdict is the same in the
summary, the detail log and ``results.json`` (a stopped run is INVALID everywhere); the trace,
when present, parses and holds each completed sample once.

It reads the reference's logs too; their trace is known not to be strict JSON, so the trace is
only checked in asyncgen's runs (told by the detail log's ``"file"``).

``verify(outdir)`` returns the problems found (none: the files are consistent).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

from asyncgen._errors import OutputError

_FOOTER = re.compile(r"^(No|\d+) (warnings?|errors?) encountered", re.MULTILINE | re.IGNORECASE)
_VERDICT = re.compile(r"^Result is : (VALID|INVALID)$", re.MULTILINE)
_DETAIL_PREFIX = ":::MLLOG "


@attrs.frozen
class RunFiles:
    """The files of one run, found by the summary's name."""

    summary: Path
    detail: Path
    accuracy: Path
    trace: Path | None
    results: Path | None


def find_runs(outdir: Path) -> list[RunFiles]:
    """Every run in ``outdir``: one per summary file, its siblings named alike."""
    runs = []
    for summary in sorted(outdir.glob("*summary*.txt")):
        trace, results = _sibling(summary, "trace", ".json"), _sibling(summary, "results", ".json")
        runs.append(
            RunFiles(
                summary=summary,
                detail=_sibling(summary, "detail", ".txt"),
                accuracy=_sibling(summary, "accuracy", ".json"),
                trace=trace if trace.exists() else None,
                results=results if results.exists() else None,
            )
        )
    return runs


def _sibling(summary: Path, kind: str, ext: str) -> Path:
    """``<prefix>summary<suffix>.txt`` -> ``<prefix><kind><suffix><ext>``."""
    head, _, tail = summary.name.rpartition("summary")
    return summary.with_name(head + kind + tail.removesuffix(".txt") + ext)


def verify(outdir: str | Path) -> list[str]:
    """Problems found in the runs of ``outdir`` (an empty list: all consistent).

    Raises ``OutputError`` when the folder holds no run at all.
    """
    folder = Path(outdir)
    runs = find_runs(folder) if folder.is_dir() else []
    if not runs:
        raise OutputError(f"no run found in {folder} (no *summary*.txt file)")
    problems: list[str] = []
    for files in runs:
        problems += [f"{files.summary.name}: {p}" for p in verify_run(files)]
    return problems


def verify_run(files: RunFiles) -> list[str]:
    """Cross-check the files of one run."""
    problems: list[str] = []
    detail = _read_detail(files.detail, problems)
    summary = _read_text(files.summary, problems)
    accuracy = _read_json(files.accuracy, problems)
    results = _read_json(files.results, problems) if files.results else None
    if detail is None or summary is None:
        return problems
    ours = any(e.get("metadata", {}).get("file") == "asyncgen" for e in detail[:10])
    trace = _read_json(files.trace, problems) if files.trace and ours else None
    errors = sum(bool(e.get("metadata", {}).get("is_error")) for e in detail)
    warnings = sum(bool(e.get("metadata", {}).get("is_warning")) for e in detail)
    problems += _check_footer(summary, errors, warnings)
    seq_ids = _check_accuracy(accuracy, problems)
    missing = _missing(results)
    if results is not None:
        problems += _check_results(results, errors, warnings, seq_ids, missing)
    problems += _check_verdicts(summary, detail, results)
    problems += _check_missing_named(detail, missing)
    if isinstance(results, dict) and results.get("valid") is True:
        problems += _check_accuracy_passes(detail, seq_ids, missing)
    if trace is not None:
        problems += _check_trace(trace, seq_ids, missing)
    return problems


# -- reading -----------------------------------------------------------------------------------


def _read_text(path: Path, problems: list[str]) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"cannot read {path.name}: {exc}")
        return None


def _read_json(path: Path, problems: list[str]) -> Any:
    text = _read_text(path, problems)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(f"{path.name} is not valid JSON: {exc}")
        return None


def _read_detail(path: Path, problems: list[str]) -> list[dict[str, Any]] | None:
    text = _read_text(path, problems)
    if text is None:
        return None
    if text and not text.endswith("\n"):
        problems.append(f"{path.name}: the last line is cut short")
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            if not line.startswith(_DETAIL_PREFIX):
                raise ValueError("no :::MLLOG prefix")
            entry = json.loads(line.removeprefix(_DETAIL_PREFIX))
            if not isinstance(entry, dict) or "key" not in entry:
                raise ValueError("not an MLLOG entry")
        except ValueError as exc:
            problems.append(f"{path.name}:{number}: line does not parse ({exc})")
            continue
        entries.append(entry)
    return entries


# -- checks ------------------------------------------------------------------------------------


def _footer_count(match: re.Match[str]) -> int:
    return 0 if match.group(1) == "No" else int(match.group(1))


def _check_footer(summary: str, errors: int, warnings: int) -> list[str]:
    found = {m.group(2).lower().rstrip("s"): _footer_count(m) for m in _FOOTER.finditer(summary)}
    if set(found) != {"warning", "error"}:
        return ["summary has no warnings/errors footer: it was cut short"]
    problems = []
    if found["error"] != errors:
        problems.append(f"summary counts {found['error']} errors, the detail log has {errors}")
    if found["warning"] != warnings:
        problems.append(
            f"summary counts {found['warning']} warnings, the detail log has {warnings}"
        )
    return problems


def _check_accuracy(accuracy: Any, problems: list[str]) -> list[int]:
    if accuracy is None:
        return []
    if not isinstance(accuracy, list):
        problems.append("accuracy log is not a JSON array")
        return []
    seq_ids = []
    for n, entry in enumerate(accuracy):
        if not isinstance(entry, dict) or not {"seq_id", "qsl_idx", "data"} <= entry.keys():
            problems.append(f"accuracy entry {n} lacks seq_id, qsl_idx or data")
            continue
        seq_ids.append(int(entry["seq_id"]))
    twice = sorted(seq for seq, count in Counter(seq_ids).items() if count > 1)
    if twice:
        problems.append(f"accuracy log holds samples more than once: {twice[:10]}")
    return seq_ids


def _missing(results: Any) -> set[int]:
    if not isinstance(results, dict):
        return set()
    return {int(m["seq_id"]) for m in results.get("missing_samples", [])}


def _check_results(
    results: Any, errors: int, warnings: int, seq_ids: list[int], missing: set[int]
) -> list[str]:
    if not isinstance(results, dict):
        return ["results.json is not an object"]
    problems = []
    if results.get("errors") != errors:
        problems.append(f"results.json counts {results.get('errors')} errors, detail {errors}")
    if results.get("warnings") != warnings:
        problems.append(
            f"results.json counts {results.get('warnings')} warnings, detail {warnings}"
        )
    if results.get("accuracy_entries") != len(seq_ids):
        problems.append(
            f"results.json counts {results.get('accuracy_entries')} accuracy entries, "
            f"the accuracy log holds {len(seq_ids)}"
        )
    if results.get("result") != ("VALID" if results.get("valid") else "INVALID"):
        problems.append("results.json: 'result' and 'valid' disagree")
    logged_missing = sorted(missing.intersection(seq_ids))
    if logged_missing:
        problems.append(f"samples reported missing have accuracy entries: {logged_missing[:10]}")
    return problems


def _check_verdicts(summary: str, detail: list[dict[str, Any]], results: Any) -> list[str]:
    verdicts = _VERDICT.findall(summary)
    final = verdicts[-1] if verdicts else None
    stopped = isinstance(results, dict) and "stopped" in results
    problems = []
    if stopped and final != "INVALID":
        problems.append("the run stopped early but the summary does not say INVALID")
    validity = [e["value"] for e in detail if e["key"] == "result_validity"]
    if validity and not stopped and final is not None and validity[-1] != final:
        problems.append(f"detail says {validity[-1]}, the summary says {final}")
    if isinstance(results, dict):
        if results.get("valid") and final == "INVALID":
            problems.append("results.json says VALID, the summary INVALID")
        if results.get("valid") and final is None and results.get("mode") != "AccuracyOnly":
            problems.append("results.json says VALID but the summary has no verdict")
    return problems


def _check_missing_named(detail: list[dict[str, Any]], missing: set[int]) -> list[str]:
    """Samples reported missing are named in the detail log's errors (up to 50 a message)."""
    text = " ".join(str(e["value"]) for e in detail if e.get("metadata", {}).get("is_error"))
    named = {int(seq) for seq in re.findall(r"(\d+):\d+", text)}
    unnamed = sorted(missing - named)
    if unnamed and len(missing) <= 50:
        return [f"samples reported missing but not named in the detail log: {unnamed[:10]}"]
    return []


def _accuracy_pass_samples(detail: list[dict[str, Any]]) -> set[int]:
    """The sequence ids of the samples the accuracy passes issued, from the detail log.

    Each series logs its generated query count and samples per query, and takes the next
    sequence ids in that order; an accuracy pass issues every query it generated.
    """
    samples: set[int] = set()
    next_id, accuracy, queries = 0, False, 0
    for entry in detail:
        key, value = entry["key"], entry["value"]
        if key == "generic_message" and value in _PHASES:
            accuracy = _PHASES[value]
        elif key == "generated_query_count":
            queries = int(value)
        elif key == "generated_samples_per_query":
            count = queries * int(value)
            if accuracy:
                samples.update(range(next_id, next_id + count))
            next_id += count
    return samples


_PHASES = {"Starting accuracy mode": True, "Starting performance mode": False}
_FAILED = re.compile(r"^Sample failed\. seq_id: (\d+) ")


def _check_accuracy_passes(
    detail: list[dict[str, Any]], seq_ids: list[int], missing: set[int]
) -> list[str]:
    """A VALID run claims a response for every sample of its accuracy passes that did not
    fail: each must be in the accuracy log."""
    failed = {
        int(m.group(1))
        for e in detail
        if e.get("metadata", {}).get("is_error") and (m := _FAILED.match(str(e["value"])))
    }
    absent = sorted(_accuracy_pass_samples(detail) - set(seq_ids) - failed - missing)
    if not absent:
        return []
    return [
        f"the run says VALID but the accuracy log lacks {len(absent)} samples of its "
        f"accuracy pass: {absent[:10]}"
    ]


def _check_trace(trace: Any, seq_ids: list[int], missing: set[int]) -> list[str]:
    events = trace.get("traceEvents") if isinstance(trace, dict) else None
    if not isinstance(events, list):
        return ["trace has no traceEvents array"]
    begins = [
        e["args"]["sample_seq"]
        for e in events
        if e.get("name") == "Sample" and e.get("ph") == "b" and "args" in e
    ]
    problems = []
    twice = sorted(seq for seq, count in Counter(begins).items() if count > 1)
    if twice:
        problems.append(f"trace holds samples more than once: {twice[:10]}")
    traced = set(begins)
    if traced & missing:
        problems.append(
            f"samples reported missing are in the trace: {sorted(traced & missing)[:10]}"
        )
    if traced and not set(seq_ids) <= traced:
        problems.append(
            f"accuracy-logged samples absent from the trace: {sorted(set(seq_ids) - traced)[:10]}"
        )
    return problems
