"""The official OCDS 1.1.5 and 360Giving 1.4.3 schemas, read from ../shared/schemas (never
copied into the project) and resolved locally: each file is registered under the URL it is
published at, and any other reference is refused, so nothing is fetched at test time.

Set PAM_OPEN_DATA_SCHEMAS to read them from elsewhere; where they are absent the tests
that need them are skipped, saying so."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft4Validator, Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT4, DRAFT202012

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = Path(os.environ.get("PAM_OPEN_DATA_SCHEMAS", ROOT.parent / "shared" / "schemas"))
OCDS = SCHEMAS / "ocds-1.1.5"
GIVING = SCHEMAS / "360giving-1.4.3"

needs_schemas = pytest.mark.skipif(
    not (OCDS / "release-package-schema.json").exists()
    or not (GIVING / "360-giving-package-schema.json").exists(),
    reason=f"the official OCDS and 360Giving schemas are not at {SCHEMAS} "
    "(set PAM_OPEN_DATA_SCHEMAS to where they are)",
)


def _refuse(uri: str):
    raise NoSuchResource(ref=uri)  # a reference to anything not registered: never fetched


@cache
def _registry() -> Registry:
    resources = []
    for path, specification in [
        *((path, DRAFT4) for path in OCDS.glob("*.json")),
        *((path, DRAFT202012) for path in GIVING.glob("*.json")),
    ]:
        contents = json.loads(path.read_text(encoding="utf-8"))
        uri = contents.get("$id") or contents.get("id")
        resources.append((uri, Resource(contents=contents, specification=specification)))
    return Registry(retrieve=_refuse).with_resources(resources)


def _schema(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


# jsonschema checks date-time and uri formats only with optional packages installed; these
# two checks are what the standards mean by them and need nothing more.
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return "T" in value and parsed.tzinfo is not None


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.path))


def errors(validator, document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]


def ocds_errors(document: dict[str, Any], package: str) -> list[str]:
    """Problems with a release or record package against OCDS 1.1.5."""
    schema = _schema(OCDS / f"{package}-package-schema.json")
    return errors(Draft4Validator(schema, registry=_registry(), format_checker=FORMATS), document)


def giving_errors(document: dict[str, Any]) -> list[str]:
    """Problems with a grants package against 360Giving 1.4.3."""
    schema = _schema(GIVING / "360-giving-package-schema.json")
    validator = Draft202012Validator(schema, registry=_registry(), format_checker=FORMATS)
    return errors(validator, document)


@cache
def ocds_codes(codelist: str) -> set[str]:
    """The codes of an OCDS codelist (open ones too, which the schema cannot check)."""
    with (OCDS / "codelists" / f"{codelist}.csv").open(encoding="utf-8") as handle:
        return {row["Code"] for row in csv.DictReader(handle)}


@cache
def giving_schema() -> dict[str, Any]:
    return _schema(GIVING / "360-giving-schema.json")


def giving_title_paths() -> dict[str, tuple[str, ...]]:
    """Each flat spreadsheet heading the 360Giving schema defines ("Recipient Org:Name")
    and the JSON path it stands for (recipientOrganization, name): its fields' titles,
    joined by colons, down through arrays of objects (a row holds the first of each)."""
    schema = giving_schema()

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        return node

    found: dict[str, tuple[str, ...]] = {}

    def walk(properties: dict[str, Any], titles: tuple[str, ...], path: tuple[str, ...]):
        for name, node in properties.items():
            node = resolve(node)
            here_titles, here_path = (*titles, node.get("title", name)), (*path, name)
            child = resolve(node.get("items", {})) if node.get("type") == "array" else node
            if "properties" in child:
                walk(child["properties"], here_titles, here_path)
            else:
                found[":".join(here_titles)] = here_path

    walk(schema["properties"], (), ())
    return found
