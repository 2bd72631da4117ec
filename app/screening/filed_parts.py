"""Batch results as filed: the parts sites share stored once, each row referring to them.

Within a batch, sites share their coverage, layer versions and dates (one object for the
batch), their context (one per township and control unit) and the findings of features they
lie in (judged once, app.screening.batch_cache): the same Python objects. Each is encoded once
per chunk and filed as a `screening_part` under the hash of its JSON; a row holds
`"$parts": {field: id}` and `{"$part": id}` in place of such a finding (migration 0015 puts
them back on reading). Encoding is pydantic's, as for a result filed whole.
"""

import hashlib
from collections.abc import Callable, Hashable
from typing import Any

import orjson
from pydantic import BaseModel

from app.screening.models import Finding, ScreeningResult

# Top-level fields filed as parts (the same object for many sites of a batch).
SHARED = ("context", "coverage", "layer_versions", "layer_version_dates")
_SERIALIZER = ScreeningResult.__pydantic_serializer__
_FINDING = Finding.__pydantic_serializer__
_DISTANCE = b',"distance_m":'  # as the JSON of a finding holds it


def part_id(body: bytes) -> str:
    """The id a part is filed under: the hash of its JSON (equal parts are stored once)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class PartEncoder:
    """Encodes the results of one chunk, each shared object once; keeps the parts to file.

    Objects are told apart by identity, and lists also by their items' (pydantic copies a
    list field, not its models), dicts of plain values also by their items. Each is held
    until the encoder goes, so an id is never reused for another object while remembered."""

    def __init__(self) -> None:
        self.parts: dict[str, bytes] = {}  # id → JSON
        self._refs: dict[Hashable, tuple[Any, bytes]] = {}  # key → (object, its reference)
        self._near: dict[bytes, bytes] = {}  # a finding's JSON but its distance → its reference

    @property
    def size(self) -> int:
        """How many objects and findings it remembers."""
        return len(self._refs) + len(self._near)

    def _ref(self, value: Any, encode: Callable[[], bytes]) -> bytes:
        """The JSON string of the part id VALUE is filed under (encoded by ENCODE once)."""
        known = self._refs.get(id(value))  # this very object (most are shared as they are)
        if known is not None:
            return known[1]
        key: Hashable | None = None
        if isinstance(value, list):
            key = ("list", *map(id, value))
        elif isinstance(value, dict):
            key = ("dict", *value.items())
        known = self._refs.get(key) if key is not None else None
        if known is None:
            body = encode()
            name = part_id(body)
            self.parts[name] = body
            known = (value, b'"' + name.encode() + b'"')
            if key is not None:
                self._refs[key] = known
        self._refs[id(value)] = (value, known[1])
        return known[1]

    def _field(self, result: ScreeningResult, name: str) -> bytes:
        """The reference to one shared top-level field of RESULT."""

        def encode() -> bytes:
            whole = _SERIALIZER.to_json(result, include={name}, exclude_unset=True)
            return whole[len(name) + 4 : -1]  # {"name":<value>} → <value>

        return self._ref(getattr(result, name), encode)

    def _finding(self, finding: Finding) -> bytes:
        """A finding as filed: a reference when it holds no figure of the site (a point
        inside a feature, a site outside a layer with nothing near); a reference and its
        distance for a feature near the site judged by no rule (migration 0017); else itself
        (its overlap is the site's own, and a rule's message may name the distance)."""
        if finding.overlap_area_m2 or finding.overlap_length_m or finding.overlap_share:
            return _FINDING.to_json(finding, exclude_unset=True)
        if finding.distance_m:
            whole = _FINDING.to_json(finding, exclude_unset=True)
            if finding.rules:
                return whole
            # The distance cut out of its JSON: a key no string value can hold (its quotes
            # would be escaped), and a number has no comma.
            at = whole.index(_DISTANCE)
            end = whole.index(b",", at + len(_DISTANCE))
            body = whole[:at] + whole[end:]
            ref = self._near.get(body)
            if ref is None:
                name = part_id(body)
                self.parts[name] = body
                ref = self._near[body] = b'{"$part":"' + name.encode() + b'",' + _DISTANCE[1:]
            return ref + whole[at + len(_DISTANCE) : end] + b"}"

        def encode() -> bytes:
            return _FINDING.to_json(finding, exclude_unset=True)

        return b'{"$part":' + self._ref(finding, encode) + b"}"

    def encode_fields(self, fields: dict[str, Any]) -> bytes:
        """As `encode(ScreeningResult(**FIELDS))` (FIELDS: service.result_fields), without
        building the result: what is not shared is plain values (or models, encoded as
        pydantic encodes them within a result)."""
        shared = [n for n in SHARED if n in fields]
        own = orjson.dumps(
            {k: v for k, v in fields.items() if k not in shared and k != "findings"},
            default=_plain,
        )
        refs = b",".join(
            b'"' + n.encode() + b'":' + self._ref(fields[n], lambda n=n: _json(fields[n]))
            for n in shared
        )
        return self._joined(own, [self._finding(f) for f in fields["findings"]], refs)

    @staticmethod
    def _joined(own: bytes, findings: list[bytes], refs: bytes) -> bytes:
        """A result's own JSON object, its findings and its references, as one object."""
        head = own[:-1] + b"," if len(own) > 2 else b"{"
        return b"".join((head, b'"findings":[', b",".join(findings), b'],"$parts":{', refs, b"}}"))

    def encode(self, result: ScreeningResult) -> bytes:
        """RESULT's JSON as filed: its own fields, its findings, references to its parts."""
        shared = [n for n in SHARED if n in result.model_fields_set]
        own = _SERIALIZER.to_json(result, exclude={*shared, "findings"}, exclude_unset=True)
        refs = b",".join(b'"' + n.encode() + b'":' + self._field(result, n) for n in shared)
        return self._joined(own, [self._finding(f) for f in result.findings], refs)


def _plain(value: Any) -> Any:
    """A model within a result's fields as pydantic encodes it there (fields never set left
    out); orjson calls this for what it does not know."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(value: Any) -> bytes:
    """A shared field's value (a model, a list of models, plain values) as filed."""
    return orjson.dumps(value, default=_plain)
