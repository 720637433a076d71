"""Vonage's published OpenAPI specs (``vcall/data/specs``), as JSON Schema validators.

The sandbox checks request bodies and query parameters against them, and the tests check the
sandbox's responses against them. The specs' references to Vonage's shared error file
(``common/common_errors.yml``), which is not published with them, are treated as "anything".
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

#: Spec name → file under ``vcall/data/specs``; paths are relative to ``prefix``.
SPECS = {"application": "application.v2.yml", "numbers": "numbers.yml"}


def _coerce(text: str, kind: Any) -> Any:
    """A query string as the type the spec declares (None if it is not one); booleans are read
    case-insensitively (the SDK sends ``False``)."""
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return None
    if kind == "boolean":
        lowered = text.lower()
        return lowered == "true" if lowered in ("true", "false") else None
    return text


def _relax_external_refs(node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return {}
        return {k: _relax_external_refs(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_relax_external_refs(v) for v in node]
    return node


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class Spec:
    """One OpenAPI document and validators for the schemas in it."""

    def __init__(self, name: str, doc: dict[str, Any]) -> None:
        self.name = name
        self.doc = _relax_external_refs(doc)
        self._uri = f"urn:vcall:spec:{name}"
        self._registry = Registry().with_resource(
            self._uri, Resource.from_contents(self.doc, default_specification=DRAFT4)
        )

    def operation(self, path: str, method: str) -> dict[str, Any]:
        """The operation object for ``path`` (as the spec writes it) and ``method``."""
        return self.doc["paths"][path][method.lower()]

    def _validator(self, pointer: str) -> Any:
        return Draft4Validator({"$ref": f"{self._uri}#/{pointer}"}, registry=self._registry)

    def body_validator(self, path: str, method: str, content_type: str) -> Any:
        """A validator for the request body schema of an operation."""
        return self._validator(
            _pointer(
                "paths", path, method.lower(), "requestBody", "content", content_type, "schema"
            )
        )

    def response_validator(self, path: str, method: str, status: int) -> Any | None:
        """A validator for a response (``application/json``) of an operation, or None when
        the spec does not describe that response's body (e.g. Vonage's unpublished shared
        errors, or a 204)."""
        base = _pointer("paths", path, method.lower(), "responses", str(status))
        response = self.operation(path, method)["responses"].get(str(status), {})
        if "$ref" in response:  # a shared response under components
            base = response["$ref"].removeprefix("#/")
            response = self._resolve(response["$ref"])
        if "application/json" not in response.get("content", {}):
            return None
        return self._validator(base + "/" + _pointer("content", "application/json", "schema"))

    def body_errors(
        self, path: str, method: str, body: Any, content_type: str = "application/json"
    ) -> list[dict[str, str]]:
        """``invalid_parameters`` entries (``name``, ``reason``) for a request body."""
        validator = self.body_validator(path, method, content_type)
        return [_describe(e) for e in validator.iter_errors(body)]

    def query_errors(
        self, path: str, method: str, query: Mapping[str, str]
    ) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """Coerce query strings to the types the spec declares; return them and any errors.

        Booleans are read case-insensitively (the SDK sends ``False``).
        """
        values: dict[str, Any] = dict(query)
        errors: list[dict[str, str]] = []
        for param in self.operation(path, method).get("parameters", []):
            if "$ref" in param:
                param = self._resolve(param["$ref"])
            name = param["name"]
            schema = param.get("schema", {})
            if "$ref" in schema:
                schema = self._resolve(schema["$ref"])
            if name not in query:
                if param.get("required"):
                    errors.append({"name": name, "reason": "is required"})
                continue
            value: Any = query[name]
            kind = schema.get("type")
            value = _coerce(value, kind)
            if value is None:
                errors.append({"name": name, "reason": f"must be a {kind}"})
                continue
            values[name] = value
            errors.extend(
                {"name": name, "reason": _describe(e)["reason"]}
                for e in Draft4Validator(schema).iter_errors(value)
            )
        return values, errors

    def _resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node


def _describe(error: Any) -> dict[str, str]:
    """One jsonschema error as Vonage's ``{"name": "a.b.c", "reason": "..."}``."""
    path = [str(p) for p in error.absolute_path]
    schema = error.schema
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return {"name": ".".join([*path, missing]), "reason": "is required"}
    if error.validator == "enum":
        reason = "must be one of: " + ", ".join(str(v) for v in schema["enum"])
    elif error.validator in ("minimum", "maximum"):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            reason = f"must be between {low} and {high}"
        elif low is not None:
            reason = f"must be at least {low}"
        else:
            reason = f"must be at most {high}"
    elif error.validator == "type":
        reason = f"must be a {schema['type']}"
    else:
        reason = error.message
    return {"name": ".".join(path), "reason": reason}


@functools.cache
def load(name: str) -> Spec:
    """The spec called ``name`` (``application`` or ``numbers``), parsed once."""
    text = resources.files("vcall").joinpath("data/specs", SPECS[name]).read_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return Spec(name, yaml.load(text, Loader=loader))
