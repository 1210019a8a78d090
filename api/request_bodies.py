"""Reading ``POST /v1/videos`` bodies: JSON, or multipart/form-data as the ``openai`` SDK sends it.

The SDK sends a create as multipart whenever it carries a file, and encodes nested objects as
bracketed fields (``metadata[key]=value``, ``input_reference[image_url]=...``); the image itself is
the file part ``input_reference``. Both forms become one dict for the pydantic model, plus the
uploaded image's bytes. However it is read, a body is bounded as it arrives (``api.limits``:
413 past the create's limit, declared or not).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from videogen.errors import InvalidRequestError, UnsupportedMediaTypeError

_NESTED_FIELD = re.compile(r"(metadata|input_reference)\[(.+)\]")


@dataclass(frozen=True)
class CreateBody:
    fields: dict[str, Any]
    upload: bytes | None  # the ``input_reference`` file part, if any


async def read_create_body(request: Request) -> CreateBody:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await _form_body(request)
    if content_type in ("application/json", ""):
        raw = await request.body()
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python's stack
            raise InvalidRequestError(
                f"We could not parse the JSON body of your request ({exc}).", code="invalid_json"
            ) from None
        if not isinstance(data, dict):
            raise InvalidRequestError("The request body must be a JSON object.", code="invalid_json")
        return CreateBody(data, None)
    raise UnsupportedMediaTypeError(
        f"Unsupported Content-Type {content_type!r}; send application/json or multipart/form-data."
    )


async def _form_body(request: Request) -> CreateBody:
    form = await request.form()
    data: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {"metadata": {}, "input_reference": {}}
    upload = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != "input_reference":
                raise InvalidRequestError(f"Unexpected file part '{key}'.", param=key, code="unknown_parameter")
            upload = await value.read()
        elif match := _NESTED_FIELD.fullmatch(key):
            nested[match.group(1)][match.group(2)] = value
        elif key == "metadata":
            try:
                data["metadata"] = json.loads(value)
            except (ValueError, RecursionError):
                data["metadata"] = None
            if not isinstance(data["metadata"], dict):  # merged with metadata[key] fields below
                raise InvalidRequestError("metadata must be a JSON object of strings", param="metadata")
        elif key == "input_reference":
            # A text field, not a file: an image URL sent as a plain form value.
            data["input_reference"] = {"image_url": value}
        else:
            data[key] = value
    if nested["metadata"]:
        data["metadata"] = {**data.get("metadata", {}), **nested["metadata"]}
    if nested["input_reference"]:
        data["input_reference"] = nested["input_reference"]
    return CreateBody(data, upload)
