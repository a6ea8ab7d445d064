"""`crm-gateway import`: sync a CSV or JSON Lines file into an object through a running gateway.

It is an HTTP client of `PUT /v2/crm/{object}/batch`, so a re-run is safe by construction:
every row is an assert, and a row that changes nothing appends nothing. Rows that fail are
written to a rejects file with their line number and errors; transient failures (429, 5xx,
connection errors) are retried with backoff, a bounded number of times.

Batches go one at a time, in file order (a later row for the same record must land later),
but the next batch is read and coerced while the gateway works on the one sent: a sender
thread does the requests, the main thread reads the file and keeps the totals.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx
import orjson

from app.domain.standard import FIELDS

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
INTEGER = re.compile(r"^[+-]?\d+$")
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n"}
LIST_SEPARATOR = ";"


class ImportFailed(Exception):
    """The import could not go on (bad options, unknown object, the gateway gave up)."""


@dataclass
class Options:
    path: Path
    object_slug: str
    match: str
    batch: int = 1000
    url: str = "http://127.0.0.1:8000"
    token: str = ""
    rejects: Path | None = None
    retries: int = 5

    @property
    def rejects_path(self) -> Path:
        return self.rejects or self.path.with_name(self.path.name + ".rejects.jsonl")


@dataclass
class Totals:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0

    def add(self, sent: Sent) -> None:
        self.rows += sent.rows
        for name in ("created", "updated", "unchanged", "failed"):
            setattr(self, name, getattr(self, name) + sent.counts[name])


@dataclass
class Sent:
    """What came of one batch: its counts and the rejects of its rows."""

    rows: int
    counts: Counter[str]  # created, updated, unchanged, failed
    failures: list[dict[str, Any]]


@dataclass
class Row:
    line: int
    body: dict[str, Any] | None = None
    error: str | None = None  # a row the file itself got wrong (bad JSON)


@dataclass
class Progress:
    """A progress line on stderr: redrawn in place on a terminal, a line a batch elsewhere."""

    total: int
    out: TextIO = field(default_factory=lambda: sys.stderr)
    started: float = field(default_factory=time.monotonic)

    def show(self, totals: Totals, final: bool = False) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = totals.rows / elapsed
        left = (self.total - totals.rows) / rate if rate else 0.0
        share = totals.rows / self.total if self.total else 1.0
        bar = "#" * int(share * 20)
        text = (
            f"[{bar:<20}] {totals.rows:,}/{self.total:,} {share:4.0%} | {rate:,.0f} rec/s | "
            f"created {totals.created:,} updated {totals.updated:,} "
            f"unchanged {totals.unchanged:,} failed {totals.failed:,} | ETA {left:,.0f}s"
        )
        if self.out.isatty() and not final:
            self.out.write("\r" + text)
        else:
            self.out.write(("\r" if self.out.isatty() else "") + text + "\n")
        self.out.flush()


class Coercer:
    """CSV cells as the values the object's attribute types take."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.attributes = {a["key"]: a for a in schema["attributes"]}
        self.fields = FIELDS.get(schema["slug"], {})

    def row(self, cells: dict[str, str]) -> dict[str, Any]:
        return {name: self.cell(name, value) for name, value in cells.items()}

    def cell(self, column: str, raw: str) -> Any:
        if raw == "":
            return None
        attribute = self.attributes.get(self.fields.get(column, column))
        kind = attribute["type"] if attribute else "text"
        if kind in ("number", "currency", "rating"):
            return _number(raw)
        if kind == "checkbox":
            lowered = raw.strip().lower()
            return True if lowered in TRUE else False if lowered in FALSE else raw
        if kind in ("select", "status"):
            return {"id": _option_id(attribute, raw)} if attribute else raw
        if kind == "multiselect" and attribute:
            return [{"id": _option_id(attribute, part)} for part in _parts(raw)]
        if kind in ("relation", "user", "emails"):
            parts = _parts(raw)
            return parts[0] if column == "companyId" and parts else parts
        return raw


def _number(raw: str) -> Any:
    text = raw.strip()
    if INTEGER.match(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return raw  # the gateway names the attribute and says what it expects


def _option_id(attribute: dict[str, Any], raw: str) -> str:
    """An option's id from its label (any case) or from the id itself."""
    wanted = raw.strip()
    for option in attribute.get("options", []):
        if (
            wanted in (option["id"], option["label"])
            or wanted.casefold() == option["label"].casefold()
        ):
            return str(option["id"])
    return wanted


def _parts(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(LIST_SEPARATOR) if part.strip()]


def read_rows(path: Path, coercer: Coercer) -> Iterator[Row]:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    body = json.loads(line)
                except json.JSONDecodeError as error:
                    yield Row(number, error=f"not valid JSON: {error}")
                    continue
                if not isinstance(body, dict):
                    yield Row(number, error="a line must be a JSON object")
                    continue
                yield Row(number, body=body)
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ImportFailed(f"{path} has no header row.")
        for cells in reader:
            if None in cells:
                yield Row(reader.line_num, error="more cells than the header has columns")
                continue
            yield Row(reader.line_num, body=coercer.row(cells))


def count_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            return sum(1 for line in handle if line.strip())
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


class Importer:
    def __init__(
        self,
        client: httpx.Client,
        options: Options,
        sleep: Callable[[float], None] = time.sleep,
        out: TextIO | None = None,
    ) -> None:
        self.client, self.options, self.sleep = client, options, sleep
        self.out = out or sys.stderr

    def run(self) -> Totals:
        options = self.options
        if not options.path.is_file():
            raise ImportFailed(f"No file at {options.path}.")
        schema = self.schema()
        progress = Progress(count_rows(options.path), out=self.out)
        totals = Totals()
        options.rejects_path.unlink(missing_ok=True)  # a stale one would mislead
        rejects: TextIO | None = None
        try:
            for sent in self._sent(
                _batches(read_rows(options.path, Coercer(schema)), options.batch)
            ):
                totals.add(sent)
                if sent.failures:
                    rejects = rejects or options.rejects_path.open("w", encoding="utf-8")
                    for failure in sent.failures:
                        rejects.write(json.dumps(failure) + "\n")
                progress.show(totals)
        finally:
            if rejects:
                rejects.close()
        progress.show(totals, final=True)
        return totals

    def _sent(self, batches: Iterator[list[Row]]) -> Iterator[Sent]:
        """What came of each batch, in order. One batch is at the gateway at a time; the
        next is read from `batches` while it is there, and goes once it has its answer."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="import") as sender:
            in_flight: Future[Sent] | None = None
            for batch in batches:
                answered = in_flight.result() if in_flight else None
                in_flight = sender.submit(self.send, batch)
                if answered:
                    yield answered  # counted here while the next batch is at the gateway
            if in_flight:
                yield in_flight.result()

    def schema(self) -> dict[str, Any]:
        response = self.request("GET", f"/v2/crm/objects/{self.options.object_slug}")
        if response.status_code != 200:
            raise ImportFailed(_explain(response))
        schema: dict[str, Any] = response.json()["object"]
        return schema

    def send(self, rows: list[Row]) -> Sent:
        """Assert one batch: its counts and the rejects of its rows, by line number."""
        failures = [
            {
                "line": row.line,
                "errors": [{"field": None, "code": "invalid_row", "message": row.error}],
            }
            for row in rows
            if row.error
        ]
        counts, rejected = self._assert([row for row in rows if row.body is not None])
        counts["failed"] += len(failures)
        failures += rejected
        return Sent(len(rows), counts, sorted(failures, key=lambda failure: int(failure["line"])))

    def _assert(self, rows: list[Row]) -> tuple[Counter[str], list[dict[str, Any]]]:
        if not rows:
            return Counter(), []
        response = self.request(
            "PUT",
            f"/v2/crm/{self.options.object_slug}/batch",
            params={"matchingAttribute": self.options.match},
            # orjson both ways: the stdlib's JSON was a tenth of a batch's round trip.
            content=_json({"records": [row.body for row in rows]}),
            headers={"Content-Type": "application/json"},
        )
        if response.status_code == 413 and len(rows) > 1:
            # Too large for the gateway's body limit: send it in two halves instead.
            half = len(rows) // 2
            first, first_failures = self._assert(rows[:half])
            second, second_failures = self._assert(rows[half:])
            return first + second, first_failures + second_failures
        if response.status_code != 200:
            raise ImportFailed(_explain(response))
        answer = orjson.loads(response.content)
        failures = [
            {"line": row.line, "errors": result["errors"], "record": row.body}
            for row, result in zip(rows, answer["results"], strict=True)
            if result["status"] >= 400
        ]
        return Counter(answer["totals"]), failures

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """The response, after bounded retries with backoff on 429, 5xx and lost connections."""
        headers = {**(headers or {}), "Authorization": f"Bearer {self.options.token}"}
        retries = self.options.retries
        for attempt in range(retries + 1):
            response: httpx.Response | None = None
            try:
                response = self.client.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as error:
                if attempt == retries:
                    raise ImportFailed(
                        f"The gateway at {self.options.url} is unreachable: {error}"
                    ) from error
            else:
                if response.status_code not in RETRIED_STATUSES or attempt == retries:
                    return response
            self.sleep(_pause(attempt, response))
        raise AssertionError("the loop returns or raises")


def _json(body: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: the gateway says what's wrong
        return json.dumps(body).encode()


def _pause(attempt: int, response: httpx.Response | None) -> float:
    """Retry-After when the gateway says it; else 0.5 s, doubling, at most 30 s."""
    retry_after = str(response.headers.get("retry-after", "")) if response is not None else ""
    if retry_after.isdigit():
        return min(float(retry_after), 60.0)
    return float(min(0.5 * 2**attempt, 30.0))


def _explain(response: httpx.Response) -> str:
    try:
        message = response.json().get("message") or response.text
    except ValueError:
        message = response.text
    return f"The gateway answered {response.status_code}: {message}"


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
