"""Mixing for the built-in music: stems, reverb, loudness, limiting, and the Song arranger."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from mediashelf.music.synth import SR, Audio, drum, frozen, noise


def _fft_len(n: int) -> int:
    # 5-smooth sizes keep pocketfft fast
    best = 1 << (n - 1).bit_length()
    p2 = 1
    while p2 < best:
        p3 = p2
        while p3 < best:
            p5 = p3
            while p5 < n:
                p5 *= 5
            best = min(best, p5)
            p3 *= 3
        p2 *= 2
    return best


def band(freqs: npt.NDArray[Any], low: float = 0.0, high: float = 0.0,
         order: int = 2) -> npt.NDArray[np.float32]:
    """Butterworth-shaped high-pass/low-pass magnitude response on an FFT frequency grid."""
    h = np.ones(freqs.size)
    if low:
        h /= np.sqrt(1 + (low / np.maximum(freqs, 1e-3)) ** (2 * order))
    if high:
        h /= np.sqrt(1 + (freqs / high) ** (2 * order))
    return h.astype(np.float32)


PAD = 2048  # filtered notes start this many samples early: room for the zero-phase filter's ring


def filtered(x: Audio, low: float, high: float) -> Audio:
    """Zero-phase band-limit a short note; the result is 2 * PAD longer and starts PAD early."""
    size = _fft_len(x.size + 2 * PAD)
    h = band(np.fft.rfftfreq(size, 1 / SR), low, high)
    y = np.fft.irfft(np.fft.rfft(x, size) * h, size)
    # the pre-ring of the first samples wrapped round to the end: rotate it back in front
    return frozen(np.roll(y, PAD)[: x.size + 2 * PAD])


@dataclass
class Stem:
    """One mixer channel: mono or stereo buffer with pan and reverb send."""

    n: int
    pan: float = 0.0
    low: float = 0.0
    high: float = 0.0
    send: float = 0.15
    stereo: bool = False
    left: Audio = field(init=False)
    right: Audio = field(init=False)

    def __post_init__(self) -> None:
        self.left = np.zeros(self.n, np.float32)
        self.right = np.zeros(self.n, np.float32) if self.stereo else self.left

    def add(self, pos: int, x: Audio, gain: float = 1.0, right: Audio | None = None) -> None:
        """Mix a note in at sample pos (stereo stems take a separate right-hand signal)."""
        r = x if right is None else right
        if pos < 0:
            x, r, pos = x[-pos:], r[-pos:], 0
        m = min(x.size, self.n - pos)
        if m <= 0:
            return
        self.left[pos:pos + m] += np.float32(gain) * x[:m]
        if self.stereo:
            self.right[pos:pos + m] += np.float32(gain) * r[:m]

    def scale(self, curve: Audio) -> None:
        """Apply a gain curve (automation or side-chain ducking)."""
        self.left *= curve
        if self.stereo:
            self.right *= curve


def reverb_ir(seconds: float, damp: float, seed: int) -> tuple[Audio, Audio]:
    """Stereo impulse response at SR / 2: decorrelated decaying noise, darker as it fades."""
    rate = SR // 2
    n = int(seconds * rate)
    t = (np.arange(n) / rate).astype(np.float32)
    pre = int(0.015 * rate)
    out = []
    for ch in (0, 1):
        nz = noise(n, seed + ch)
        bright = nz * np.exp(-t * 6.9 / (seconds * 0.35))
        lp = np.fft.irfft(np.fft.rfft(nz) * band(np.fft.rfftfreq(n, 1 / rate), 150, damp, 1), n)
        dark = lp.astype(np.float32) * np.exp(-t * 6.9 / seconds)
        ir = np.concatenate([np.zeros(pre, np.float32), 0.4 * bright + dark])
        ir[pre:pre + 100] *= np.linspace(0, 1, 100, dtype=np.float32)
        out.append((ir / np.sqrt(np.sum(ir**2))).astype(np.float32))
    return out[0], out[1]


def render_mix(stems: list[Stem], n: int, ir: tuple[Audio, Audio]) -> Audio:
    """Pan the stems and add one shared convolution reverb; returns (2, n) float32."""
    out = np.zeros((2, n), np.float32)
    wet = np.zeros(n, np.float32)
    for s in stems:
        chans = [(s.left, -1.0), (s.right, 1.0)] if s.stereo else [(s.left, 0.0)]
        for buf, side in chans:
            pan = float(np.clip(s.pan + 0.8 * side, -1, 1))
            out[0] += np.float32(np.cos((pan + 1) * np.pi / 4)) * buf
            out[1] += np.float32(np.sin((pan + 1) * np.pi / 4)) * buf
            if s.send:
                wet += np.float32(s.send / len(chans)) * buf
    # the reverb runs at half rate: its tail is dark anyway, and it halves the FFT work
    half = (wet[0::2] + np.r_[wet[1::2], np.float32(0)][: (n + 1) // 2]) * np.float32(0.5)
    size = _fft_len(half.size + ir[0].size)
    spec = np.fft.rfft(half, size)
    for ch in (0, 1):
        tail = np.fft.irfft(spec * np.fft.rfft(ir[ch], size), size)[: half.size]
        out[ch, 0::2] += tail
        out[ch, 1::2] += 0.5 * (tail + np.r_[tail[1:], np.float32(0)])[: n // 2]
    return out


def loudness(x: Audio) -> float:
    """Approximate integrated loudness (LUFS): K-weighting per ~100 ms block, BS.1770 gates."""
    hop = 4096
    m = x.shape[1] // hop
    spec = np.fft.rfft(x[:, : m * hop].reshape(2, m, hop), axis=2)
    f = np.fft.rfftfreq(hop, 1 / SR)
    shelf = 1 + (10 ** (4 / 20) - 1) / (1 + (1500 / np.maximum(f, 1e-3)) ** 2)
    k2 = (band(f, 60, 0, 2) * shelf) ** 2
    # Parseval: a block's mean square from its spectrum (one-sided, so double the middle bins)
    k2[1:-1] *= 2
    power = (np.abs(spec) ** 2 * k2).sum(axis=2).sum(axis=0) / hop**2
    blocks = np.convolve(power, np.ones(4) / 4, mode="valid")
    level = -0.691 + 10 * np.log10(np.maximum(blocks, 1e-12))
    gated = blocks[level > -70]
    rel = -0.691 + 10 * np.log10(gated.mean()) - 10
    return float(-0.691 + 10 * np.log10(gated[level[level > -70] > rel].mean()))


def limit(x: Audio, ceiling: float) -> Audio:
    """Look-ahead peak limiter: block-wise gain, widened and interpolated, never above ceiling."""
    block = 256
    m = -(-x.shape[1] // block)
    pad = np.zeros((2, m * block), np.float32)
    pad[:, : x.shape[1]] = np.abs(x)
    peaks = pad.reshape(2, m, block).max(axis=(0, 2))
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-9))
    # each block gain must also cover its neighbours, so the interpolated curve stays under need
    spread = np.minimum(need, np.minimum(np.r_[need[1:], 1.0], np.r_[1.0, need[:-1]]))
    for _ in range(3):  # soften: a few passes of min with a wider window, release ~50 ms
        spread = np.minimum(spread, 0.5 * (spread + np.r_[spread[1:], 1.0]))
        spread = np.minimum(spread, 0.5 * (spread + np.r_[1.0, spread[:-1]]))
    centres = (np.arange(m) + 0.5) * block
    gain = np.interp(np.arange(x.shape[1]), centres, spread).astype(np.float32)
    out: Audio = x * gain
    return out


def master(x: Audio, target_lufs: float = -16.0, ceiling_db: float = -1.5,
           fade_in: float = 0.3, fade_out: float = 3.0) -> Audio:
    """Loudness-normalise, peak-limit and fade a (2, n) mix."""
    x = x * np.float32(10 ** ((target_lufs - loudness(x)) / 20))
    x = limit(x, 10 ** (ceiling_db / 20))
    n = x.shape[1]
    fade = np.ones(n, np.float32)
    a, b = int(fade_in * SR), int(fade_out * SR)
    fade[:a] = np.linspace(0, 1, a) ** 2
    fade[n - b:] = np.cos(np.linspace(0, np.pi / 2, b)) ** 2
    return np.ascontiguousarray(np.clip(x * fade, -1, 1), dtype=np.float32)


MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
Note = tuple[float, float, int]  # start beat, length in beats, midi
Rhythm = Sequence[tuple[float, float]]  # (onset, length) in beats within a bar


class Song:
    """Timing, harmony and stems for one track while it is being arranged."""

    def __init__(self, seed: int, bpm: float, seconds: float, key: int, scale: Sequence[int],
                 tail: float, swing: float = 0.0) -> None:
        self.key, self.scale, self.swing = key, tuple(scale), swing
        self.beat = 60 / bpm
        self.n = round(seconds * SR)
        self.bars = round((seconds - tail) / (4 * self.beat))
        self.rng = np.random.default_rng(seed)
        self.stems: list[Stem] = []
        self.reverb = (2.2, 5000.0)
        self._voices: dict[tuple[object, ...], tuple[Audio, Audio | None]] = {}

    def stem(self, **kw: float | bool) -> Stem:
        s = Stem(self.n, **kw)  # type: ignore[arg-type]
        self.stems.append(s)
        return s

    def pos(self, beat: float, jitter: float = 0.003) -> int:
        if self.swing and abs(beat % 1 - 0.5) < 1e-6:
            beat += self.swing
        return round((beat * self.beat + jitter * self.rng.standard_normal()) * SR)

    def gate(self, beats: float) -> int:
        return max(1, round(beats * self.beat * SR))

    def pitch(self, degree: int, octave: int = 4) -> int:
        return self.key + 12 * (octave - 4 + degree // 7) + self.scale[degree % 7]

    def voice(self, degree: int, low: int, size: int = 3) -> list[int]:
        """Chord tones of a scale-degree chord packed into the octave above low (smooth leading)."""
        return sorted(low + (self.pitch(degree + 2 * i) - low) % 12 for i in range(size))

    def play(self, stem: Stem, inst: Callable[..., Audio], beat: float, beats: float, midi: int,
             vel: float = 1.0, *args: object) -> None:
        vel *= 1 + 0.06 * self.rng.standard_normal()
        gate = self.gate(beats)
        key = (inst, midi, gate, args, stem.stereo, stem.low, stem.high)
        if key not in self._voices:
            # stereo stems hold pads whose two sides are detuned differently, for width
            right = inst(midi, gate, *args, 1) if stem.stereo else None
            self._voices[key] = (self._band(stem, inst(midi, gate, *args)), right)
        x, right = self._voices[key]
        stem.add(self.pos(beat) - (PAD if stem.low or stem.high else 0), x, vel, right)

    @staticmethod
    def _band(stem: Stem, x: Audio) -> Audio:
        return filtered(x, stem.low, stem.high) if stem.low or stem.high else x

    def hits(self, stem: Stem, kind: str, bars: range, onsets: Sequence[float],
             vel: float = 1.0, jitter: float = 0.002) -> None:
        key = (kind, stem.low, stem.high)
        if key not in self._voices:
            self._voices[key] = (self._band(stem, drum(kind)), None)
        x = self._voices[key][0]
        early = PAD if stem.low or stem.high else 0
        for bar in bars:
            for on in onsets:
                v = vel * (1 + 0.08 * self.rng.standard_normal())
                stem.add(self.pos(bar * 4 + on, jitter) - early, x, v)

    def melody(self, prog: Sequence[int], rhythms: Sequence[Rhythm],
               low: int, high: int) -> list[Note]:
        """An 8-bar tune: a 4-bar phrase, then an answer that repeats its start and ends home."""
        first = self._phrase(prog[:4], rhythms, low, high, False)
        if list(prog[4:6]) == list(prog[:2]):
            again = [(b + 16, d, m) for b, d, m in first if b < 8]
        else:
            again = self._phrase(prog[4:6], rhythms, low, high, False, start=4)
        return first + again + self._phrase(prog[6:8], rhythms, low, high, True, start=6)

    def _phrase(self, prog: Sequence[int], rhythms: Sequence[Rhythm],
                low: int, high: int, home: bool, start: int = 0) -> list[Note]:
        notes = [m for m in range(low, high + 1) if (m - self.key) % 12 in self.scale]
        prev = (low + high) // 2
        out: list[Note] = []
        for i, deg in enumerate(prog):
            chord = {(self.pitch(deg + 2 * j)) % 12 for j in range(3)}
            rhythm = rhythms[int(self.rng.integers(len(rhythms)))]
            for k, (on, length) in enumerate(rhythm):
                last = home and i == len(prog) - 1 and k == len(rhythm) - 1
                strong = on % 2 == 0
                pool = [m for m in notes if not strong or m % 12 in chord]
                if last:
                    pool = [m for m in notes if m % 12 == self.key % 12] or pool
                dist = np.abs(np.array(pool) - prev)
                weight = np.exp(-dist / 2.5) * (dist > 0 if not last else 1) + 1e-6
                prev = int(self.rng.choice(pool, p=weight / weight.sum()))
                out.append(((start + i) * 4 + on, length, prev))
        return out

    def curve(self, points: Sequence[tuple[float, float]]) -> Audio:
        """Automation: piecewise-linear gain over (bar, gain) points."""
        bars, gains = zip(*points, strict=True)
        t = np.arange(self.n) / (SR * 4 * self.beat)
        out: Audio = np.interp(t, bars, gains).astype(np.float32)
        return out

    def duck(self, bars: range, depth: float) -> Audio:
        """Side-chain style pump: dip on every beat of the given bars."""
        env = np.ones(self.n, np.float32)
        shape = 1 - depth * np.exp(-np.arange(self.gate(1)) / (0.09 * SR)).astype(np.float32)
        for beat in range(bars.start * 4, bars.stop * 4):
            p = round(beat * self.beat * SR)
            m = min(shape.size, self.n - p)
            if m > 0:
                env[p:p + m] = shape[:m]
        return env
