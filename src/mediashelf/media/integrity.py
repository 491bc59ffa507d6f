"""READY means usable: a video decodes at its start, middle and end; an audio stream all through.

A file whose index or data is damaged can still give a poster from its first frames. The checks
here find where decoding stops and say so ("the video is damaged after 0:01"). Video is checked
by seeking and decoding a few frames at each point, so a long file costs about what a short one
does; only a damaged file pays for locating the damage (a bisection, then one short stretch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
from av.container import InputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from mediashelf.media.base import MediaError
from mediashelf.media.containers import short_format

PROBE_FRAMES = 5  # good frames that vouch for one point
END_SLACK = 0.5  # s the data may stop short of its claimed end: a final GOP a few frames short
START_SLACK = 2.0  # s a stream cut mid-GOP (a TS capture) may take to reach its first keyframe
END_WINDOW = 1.0  # s before the claimed end where the end probe starts
FRAME_BUDGET = 300  # frames one read decodes at most; past that it only demuxes
SKIP_LIMIT = 600  # non-key packets passed over after a seek before decoding anyway
MAX_SILENT = 16  # packets in a row that give no frame: more than a decoder's reordering delay
LANDING_SLACK = 0.5  # s past its target an indexed seek may land before data counts as skipped
BACKOFFS = (2.0, 8.0, 30.0)  # s to step back when a seek lands after the last keyframe
MAX_STEPS = 16  # bisection steps when locating damage (an hour to within a second)
RESOLUTION = 1.0  # s: bisection stops here and the last stretch is decoded frame by frame
# Containers whose index lists the keyframes as written. MPEG-TS and PS have none: FFmpeg adds
# entries for whatever packets its timestamp search touched, keyframes or not.
INDEXED = {"mov", "matroska", "avi", "asf"}


def clock(seconds: float) -> str:
    """A position as players show it: m:ss, or h:mm:ss from an hour on."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def damaged(what: str, seconds: float, decoded: int | None = None) -> MediaError:
    """The failure for a stream that stops decoding after `seconds`; the log gets the cost."""
    detail = None if decoded is None else f"{decoded} frames decoded to find it"
    return MediaError(f"the {what} is damaged after {clock(seconds)}", detail)


@dataclass(slots=True)
class Span:
    """What one read saw, in seconds from the stream's start."""

    first: float | None = None  # start of the first good frame
    until: float | None = None  # end of the last good frame before any break
    frames: int = 0  # good frames decoded
    after: int = 0  # of them, frames at or after the read's target
    reach: float = 0.0  # end of the last packet of the stream demuxed
    reach_any: float = 0.0  # end of the last packet of any stream demuxed
    broken: float | None = None  # where decoding failed once it had started


@dataclass(slots=True)
class Verdict:
    seconds: float  # the video's length: claimed, or measured when the file does not say
    decoded: int  # frames the check decoded, a measure of its cost


def check_video(container: InputContainer, stream: VideoStream, claimed: float | None) -> Verdict:
    """Raise MediaError naming where the video breaks, unless it decodes at start, middle and end.

    `container` must be freshly opened: the start is read as stored, without a seek.
    """
    reader = _Reader(container, stream)
    # Without a claimed length, the first read demuxes on to the end to measure one.
    start = reader.read(0.0, want=PROBE_FRAMES, to_end=claimed is None, seek=False)
    if start.broken is not None:
        raise reader.damaged(start.until or 0.0)
    if start.until is None or start.first is None:
        raise MediaError("the video has no decodable frame")
    if start.first > START_SLACK:
        raise reader.damaged(0.0)
    if claimed is None:  # nothing to hold the data to: what is there is the video
        claimed = reader.covered(start)
    middle = reader.probe(claimed / 2, want=PROBE_FRAMES)
    if middle.broken is not None or middle.until is None:
        raise reader.damaged(reader.locate(start.until, claimed / 2))
    tail = reader.probe(max(0.0, claimed - END_WINDOW), want=PROBE_FRAMES, to_end=True,
                        floor=claimed / 2)
    if tail.broken is not None or tail.until is None:
        raise reader.damaged(reader.locate(middle.until, claimed - END_WINDOW))
    if reader.covered(tail) < claimed - END_SLACK:
        raise reader.damaged(reader.locate(tail.until, claimed))
    return Verdict(claimed, reader.decoded)


def check_audio(decoded: float, broken: float | None, claimed: float | None) -> None:
    """Raise MediaError unless the audio decoded unbroken to within END_SLACK of its claimed end.

    `broken` is how much had decoded when a packet first failed; `decoded` the total.
    """
    end = max(decoded, claimed or 0.0)
    if broken is not None and broken < end - END_SLACK:
        raise damaged("audio", broken)
    if claimed is not None and decoded < claimed - END_SLACK:
        raise damaged("audio", decoded)


class _Reader:
    """Seeks and reads one video stream, timing everything from the stream's own start."""

    def __init__(self, container: InputContainer, stream: VideoStream) -> None:
        self.container, self.stream = container, stream
        self.base = stream.time_base or Fraction(1, 1000)
        # Seconds per tick of each stream, as floats: Fraction arithmetic per packet is slow.
        self.ticks = {s.index: float(s.time_base) for s in container.streams if s.time_base}
        self.tick = float(self.base)
        self.own = stream.duration is not None  # the stream says its length, not just the file
        self.origin = float(stream.start_time * self.base) if stream.start_time else 0.0
        start = container.start_time
        self.any_origin = start / av.time_base if start is not None else self.origin
        self.indexed = short_format(container) in INDEXED
        self.decoded = 0
        # One decoder process is one core's work (see video.poster).
        stream.codec_context.thread_count = 1

    def damaged(self, seconds: float) -> MediaError:
        return damaged("video", seconds, self.decoded)

    def covered(self, span: Span) -> float:
        """How far the data reaches: this stream's packets if it has a length, else any stream's."""
        return max(span.until or 0.0, span.reach if self.own else span.reach_any)

    def probe(self, target: float, *, want: int, to_end: bool = False,
              floor: float = 0.0) -> Span:
        """Read at `target`; if the seek landed after the last keyframe, step back and retry."""
        span = self.read(target, want=want, to_end=to_end)
        for back in BACKOFFS:
            if span.frames or span.broken is not None or target - back <= floor:
                break
            span = self.read(target - back, want=want, to_end=to_end)
        if not span.frames and span.broken is None and not self.indexed:
            # No index, and no keyframe a seek can land on before the target (a short stream
            # whose only keyframe is its first, as small MPEG-TS clips are): decode from the
            # file's start through the target instead.
            span = self.read(target, want=want, at_target=True, to_end=to_end, rewind=True)
        return span

    def locate(self, good: float, bad: float) -> float:
        """The last moment that decodes, between a point known good and one known bad."""
        for _ in range(MAX_STEPS):
            if bad - good <= RESOLUTION:
                break
            middle = (good + bad) / 2
            span = self.read(middle, want=PROBE_FRAMES, at_target=True)
            if span.broken is None and span.after and span.until is not None:
                good = max(middle, span.until)
            else:
                bad = middle
        # The last stretch frame by frame, from the keyframe before `good` to a little past `bad`.
        span = self.read(good, want=FRAME_BUDGET, stop=bad + RESOLUTION)
        return span.until if span.until is not None else good

    def read(self, target: float, *, want: int, at_target: bool = False, to_end: bool = False,
             stop: float = math.inf, seek: bool = True, rewind: bool = False) -> Span:
        """From the keyframe before `target`: decode `want` good frames, then demux on if `to_end`.

        Decoding starts at a keyframe: with an index (MP4, Matroska…) the seek lands on one;
        without (MPEG-TS) it lands anywhere, and packets up to the next keyframe are passed
        over. Decoding stops at the first packet that fails or at MAX_SILENT packets in a row
        that give no frame (zeroed data decodes to nothing), at a frame past `stop`, or at the
        budget.
        """
        span = Span()
        seek = seek and not rewind  # a rewind reads from the start: no landing to judge
        if seek or rewind:
            try:
                if rewind:
                    self.container.seek(0)
                else:
                    self.container.seek(int((self.origin + target) / self.tick),
                                        stream=self.stream, backward=True, any_frame=False)
            except av.FFmpegError:
                span.broken = target
                return span
        goal = target if at_target else -math.inf
        decoding, started, skipped, silent = True, False, 0, 0
        try:
            for packet in self.container.demux():
                span.reach_any = max(span.reach_any, self._end(packet, self.any_origin))
                if packet.stream_index != self.stream.index:
                    continue
                span.reach = max(span.reach, self._end(packet, self.origin))
                if not decoding:
                    continue
                if not started and seek and self.indexed and packet.size and \
                        self._start(packet, self.origin) > target + LANDING_SLACK:
                    # An index lands on the keyframe before the target: landing after it means
                    # the demuxer skipped bytes it could not read (Matroska resyncs silently).
                    span.broken = target
                    return span
                if not started:
                    if packet.size and skipped < SKIP_LIMIT and not self._keyframe(packet):
                        skipped += 1
                        continue
                    started = True
                frames_before = span.frames
                if self._decode(packet, span, goal, stop):
                    return span
                silent = silent + 1 if span.frames == frames_before and packet.size else 0
                if silent > MAX_SILENT:
                    span.broken = span.until if span.until is not None else self._start(
                        packet, self.origin)
                    return span
                if span.after >= want or span.frames >= FRAME_BUDGET:
                    if not to_end:
                        return span
                    decoding = False
        except av.FFmpegError:  # the demuxer itself gave up: the data ends in damage
            span.broken = span.until if span.until is not None else target
        return span

    def _start(self, packet: Any, origin: float) -> float:
        stamp = packet.pts if packet.pts is not None else packet.dts
        tick = self.ticks.get(packet.stream_index)
        return 0.0 if stamp is None or tick is None else stamp * tick - origin

    def _end(self, packet: Any, origin: float) -> float:
        if packet.size == 0:  # the flush packet at the end carries no time
            return 0.0
        length = packet.duration * self.ticks.get(packet.stream_index, 0.0) \
            if packet.duration else 0.0
        return self._start(packet, origin) + length

    def _keyframe(self, packet: Any) -> bool:
        """A keyframe by its flag, or by the index: damaged data loses the flag, not the entry."""
        if packet.is_keyframe:
            return True
        entries = self.stream.index_entries
        if not self.indexed or packet.dts is None or not len(entries):
            return False
        found = entries.search_timestamp(packet.dts, backward=True, any_frame=True)
        return found >= 0 and entries[found].pos == packet.pos and entries[found].is_keyframe

    def _decode(self, packet: Any, span: Span, goal: float, stop: float) -> bool:
        """Decode one packet into `span`; True when the read is over (a break, or past `stop`)."""
        try:
            frames = packet.decode()
        except av.FFmpegError:
            span.broken = self._start(packet, self.origin)
            return True
        for frame in frames:
            if not isinstance(frame, VideoFrame) or frame.time is None:
                continue
            if frame.is_corrupt:
                span.broken = frame.time - self.origin
                return True
            start = frame.time - self.origin
            if start > stop:
                return True
            if math.isfinite(goal) and not span.after and start > goal + LANDING_SLACK:
                span.broken = goal  # the frames jump over the target: data there is missing
                return True
            length = frame.duration * self.tick if frame.duration else 0.0
            self.decoded += 1
            span.frames += 1
            span.first = start if span.first is None else min(span.first, start)
            span.until = max(span.until or 0.0, start + length)
            if start >= goal:
                span.after += 1
        return False
