"""multipart/form-data uploads, parsed as they stream in and fed straight to storage."""

from __future__ import annotations

from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from mediashelf.domain import Asset, AssetType
from mediashelf.errors import BadRequest, PayloadTooLarge
from mediashelf.services.assets import AssetService, UploadSink
from mediashelf.settings import format_size

_FLUSH_BYTES = 1 << 20  # hand storage 1 MiB at a time: few thread hops, bounded memory
_FIELD_MAX = 4096
_FORM_SLACK = 1 << 20  # room for the other fields and boundaries around the file


def parse_type(value: str | None) -> AssetType | None:
    if value is None or value == "":
        return None
    try:
        return AssetType(value.strip())
    except ValueError:
        raise BadRequest(f"invalid value '{value}' for 'type': allowed values are "
                         "AUDIO, IMAGE, VIDEO") from None


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
        self._headers: dict[str, str] = {}
        self._hname = bytearray()
        self._hvalue = bytearray()
        self._name: str | None = None
        self._text = bytearray()

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
        self._headers, self._name, self._text = {}, None, bytearray()

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self._hname += data[start:end]

    def _hval(self, data: bytes, start: int, end: int) -> None:
        self._hvalue += data[start:end]

    def _hend(self) -> None:
        name = self._hname.decode("latin-1").lower()
        self._headers[name] = self._hvalue.decode("utf-8", "replace")
        self._hname, self._hvalue = bytearray(), bytearray()

    def _headers_done(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "file" and not self.file_started:
            self.in_file = self.file_started = True
            raw = params.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None
            self.file_type = self._headers.get("content-type")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.buffer += data[start:end]
        elif self._name:
            self._text += data[start:end]
            if len(self._text) > _FIELD_MAX:
                raise BadRequest(f"form field '{self._name}' is too long")

    def _part_end(self) -> None:
        if self.in_file:
            self.in_file, self.file_done = False, True
        elif self._name and self._name not in self.fields:
            self.fields[self._name] = self._text.decode("utf-8", "replace")


async def receive_upload(request: Request, service: AssetService, tenant_id: Any) -> Asset:
    """Stream the request body into a new asset's storage; the file never sits whole in memory."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart body without a boundary")
    declared_len = request.headers.get("content-length")
    ceiling = service.limit_for(None)
    if declared_len and declared_len.isdigit() and int(declared_len) > ceiling + _FORM_SLACK:
        raise PayloadTooLarge(f"file larger than {format_size(ceiling)}")
    form = _Form()
    parser = MultipartParser(boundary, form.callbacks())
    sink: UploadSink | None = None
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if form.file_started and sink is None:
                declared = parse_type(form.fields.get("type"))
                sink = await run_in_threadpool(service.start_upload, tenant_id, declared)
            if sink is not None and declared_len and declared_len.isdigit() and \
                    int(declared_len) > sink.limit + _FORM_SLACK:
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
        return await run_in_threadpool(
            sink.finish, name if name else None, form.filename, form.file_type,
            parse_type(form.fields.get("type")))
    except MultipartParseError:
        raise BadRequest("malformed multipart body") from None
    except (ClientDisconnect, BaseException):
        if sink is not None:
            await run_in_threadpool(sink.abort)
        raise
