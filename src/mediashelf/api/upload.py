"""multipart/form-data uploads, parsed as they stream in and fed straight to storage."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from mediashelf.api import disposition
from mediashelf.api.idempotency import Gate, fingerprint
from mediashelf.digits import ascii_int
from mediashelf.domain import AssetType
from mediashelf.errors import BadRequest, PayloadTooLarge
from mediashelf.names import check_file_name, check_name
from mediashelf.services.assets import AssetService, Created, UploadSink
from mediashelf.settings import format_size
from mediashelf.words import split_tags

log = logging.getLogger("mediashelf.api")

_FLUSH_BYTES = 1 << 20  # hand storage 1 MiB at a time: few thread hops, bounded memory
_FIELD_MAX = 4096
_FIELDS = ("name", "type", "tags", "dedupe")  # the text fields we read; others are skipped
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_BOUNDARY_MAX = 70  # RFC 2046, section 5.1.1
_FORM_SLACK = 1 << 20  # room for the other fields and boundaries around the file


def parse_type(value: str | None) -> AssetType | None:
    if value is None or value == "":
        return None
    try:
        return AssetType(value.strip())
    except ValueError:
        raise BadRequest(f"invalid value '{value}' for 'type': allowed values are "
                         "AUDIO, IMAGE, VIDEO") from None


def parse_flag(value: str | None, name: str, default: bool) -> bool:
    """A true/false form field (true, false, 1, 0, yes, no, on, off), or the default if absent."""
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise BadRequest(f"invalid value '{value[:64]}' for '{name}': allowed values are true, false")


class _Form:
    """Collects small text fields and routes the `file` part's bytes into a buffer."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.file_type: str | None = None
        self.in_file = False
        self.file_started = False
        self.file_done = False
        self.ended = False
        self.buffer = bytearray()
        self._headers: dict[str, bytes] = {}
        self._hname = bytearray()
        self._hvalue = bytearray()
        self._name = ""
        self._text = bytearray()
        self._text_len = 0

    def callbacks(self) -> Any:
        return {
            "on_part_begin": self._part_begin, "on_header_field": self._hfield,
            "on_header_value": self._hval, "on_header_end": self._hend,
            "on_headers_finished": self._headers_done, "on_part_data": self._data,
            "on_part_end": self._part_end, "on_end": self._end,
        }

    def _end(self) -> None:
        self.ended = True

    def _part_begin(self) -> None:
        self._headers, self._name, self._text, self._text_len = {}, "", bytearray(), 0

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _hval(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _hend(self) -> None:
        # values stay bytes: a file name is raw UTF-8 (or Latin-1), decoded by disposition.py
        self._headers[self._hname.decode("latin-1").strip().lower()] = bytes(self._hvalue)
        self._hname, self._hvalue = bytearray(), bytearray()

    def _headers_done(self) -> None:
        part = disposition.parse(self._headers.get("content-disposition", b""))
        self._name = part.field
        if self._name != "file":
            return
        if self.file_started:
            raise BadRequest("more than one 'file' part: an upload carries exactly one file")
        self.in_file = self.file_started = True
        self.filename = check_file_name(part.filename)
        self.file_type = self._headers.get("content-type", b"").decode("latin-1") or None

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.buffer += data[start:end]
        else:
            self._text_len += end - start
            if self._text_len > _FIELD_MAX:
                raise BadRequest(f"form field '{self._name[:64]}' is too long" if self._name
                                 else "a form part without a field name is too long")
            if self._name in _FIELDS:
                self._text += data[start:end]

    def _part_end(self) -> None:
        if self.in_file:
            self.in_file, self.file_done = False, True
        elif self._name in _FIELDS:
            if self._name in self.fields:
                raise BadRequest(f"form field '{self._name}' is given more than once")
            value = disposition.decode_text(bytes(self._text))
            if self._name == "name" and value:
                check_name(value)  # refused before the file streams in, when it comes first
            if self._name == "tags":
                split_tags(value)
            self.fields[self._name] = value


async def receive_upload(request: Request, service: AssetService, tenant_id: Any,
                         gate: Gate, dedupe: bool = True) -> Created:
    """Stream the request body into a new asset's storage; the file never sits whole in memory.
    Once it is read whole, the gate learns what it was (its idempotency fingerprint). `dedupe`
    applies when the form has no such field."""
    boundary = _boundary(request)
    declared_len = _declared_length(request)
    ceiling = service.limit_for(None)
    if declared_len is not None and declared_len > ceiling + _FORM_SLACK:
        raise PayloadTooLarge(f"file larger than {format_size(ceiling)}")
    form = _Form()
    sink: UploadSink | None = None
    try:
        parser = MultipartParser(boundary, form.callbacks())
        async for chunk in request.stream():
            parser.write(chunk)
            await gate.keep_alive()
            if form.file_started and sink is None:
                declared = parse_type(form.fields.get("type"))
                sink = await run_in_threadpool(service.start_upload, tenant_id, declared)
            if sink is not None and declared_len is not None and \
                    declared_len > sink.limit + _FORM_SLACK:
                # the content told us the type: refuse now rather than after the whole body
                raise PayloadTooLarge(f"file larger than {format_size(sink.limit)}")
            if sink is not None and (len(form.buffer) >= _FLUSH_BYTES or form.file_done):
                data, form.buffer = bytes(form.buffer), bytearray()
                if data:
                    await run_in_threadpool(sink.feed, data)
        parser.finalize()
        if not form.ended:
            raise BadRequest("malformed multipart body: it ends before the closing boundary")
        if sink is None:
            raise BadRequest("missing form field 'file'")
        if form.buffer:
            await run_in_threadpool(sink.feed, bytes(form.buffer))
            form.buffer = bytearray()
        name = form.fields.get("name")
        declared = parse_type(form.fields.get("type"))
        dedupe = parse_flag(form.fields.get("dedupe"), "dedupe", dedupe)
        tags = split_tags(form.fields.get("tags", ""))
        gate.check(fingerprint("POST /v1/assets", "upload", sink.sha256, sink.size,
                               form.filename, name or None, declared, dedupe, tags))
        return await run_in_threadpool(
            sink.complete, name if name else None, form.filename, form.file_type, declared,
            None, tags, dedupe=dedupe)
    except FormParserError:  # the parser's own errors, MultipartParseError among them
        await _abort(sink)
        raise BadRequest("malformed multipart body") from None
    except BaseException:  # ours, a client gone, a cancelled task: the bytes go too
        await _abort(sink)
        raise


def _boundary(request: Request) -> bytes:
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart body without a boundary")
    if len(boundary) > _BOUNDARY_MAX:
        raise BadRequest(f"multipart boundary longer than {_BOUNDARY_MAX} characters "
                         "(RFC 2046)")
    return boundary


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length", "")
    return ascii_int(raw)


async def _abort(sink: UploadSink | None) -> None:
    """Remove a refused upload's bytes, even when the request's task is being cancelled."""
    if sink is None:
        return
    with anyio.CancelScope(shield=True):
        try:
            await run_in_threadpool(sink.abort)
        except Exception:
            log.warning("upload.abort_failed", exc_info=True,
                        extra={"asset_id": str(sink.asset_id)})
