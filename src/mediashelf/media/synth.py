"""A small numpy synthesiser for the built-in music: instruments, drums, mixing, mastering."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]
SR = 44100
TAU = np.float32(2 * np.pi)
_TABLE_BITS = 14  # big enough that a plain lookup is clean (error below -70 dB)


def hz(midi: float) -> float:
    """Equal-tempered frequency of a MIDI note number."""
    return float(440.0 * 2 ** ((midi - 69) / 12))


def _frozen(x: npt.NDArray[np.floating]) -> Audio:
    # cached notes are shared between callers, so make accidental in-place edits fail loudly
    out = np.ascontiguousarray(x, dtype=np.float32)
    out.flags.writeable = False
    return out


def _time(n: int) -> npt.NDArray[np.float64]:
    return np.arange(n, dtype=np.float64) / SR


def envelope(gate: int, attack: float, release: float, decay: float = 0.0,
             sustain: float = 1.0) -> Audio:
    """Attack ramp, optional exponential decay to sustain, smooth release after the gate."""
    nr = max(1, int(release * SR))
    n = gate + nr
    t = _time(n).astype(np.float32)
    env = np.ones(n, np.float32)
    if decay > 0:
        env = sustain + (1 - sustain) * np.exp(-t / decay)
    na = min(n, max(1, int(attack * SR)))
    env[:na] *= np.sin(np.linspace(0, np.pi / 2, na, dtype=np.float32)) ** 2
    # raised-cosine release from whatever level the gate ended on: no click at note off
    env[gate:] *= 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, n - gate, dtype=np.float32))
    return env


def _phase(freq: float, n: int, start: float = 0.0) -> npt.NDArray[np.uint32]:
    # 32-bit fixed-point phase wraps for free and stays exact over minutes, unlike float32
    step = np.uint32(round(freq / SR * 2**32) % 2**32)
    return np.arange(n, dtype=np.uint32) * step + np.uint32(int(start * 2**32) % 2**32)


def _sine(freq: float, n: int) -> Audio:
    out: Audio = np.sin(_phase(freq, n).astype(np.float32) * np.float32(2 * np.pi / 2**32))
    return out


def _partials(freq: float, n: int, ratios: npt.ArrayLike, amps: npt.ArrayLike,
              decays: npt.ArrayLike) -> Audio:
    t32 = _time(n).astype(np.float32)
    out = np.zeros(n, np.float32)
    for r, a, d in zip(np.asarray(ratios), np.asarray(amps), np.asarray(decays), strict=True):
        f = freq * float(r)
        if f > 16000 or a == 0:
            continue
        out += np.float32(a) * _sine(f, n) * np.exp(-t32 / np.float32(d))
    return out


def piano(midi: int, gate: int) -> Audio:
    """Additive piano: slightly stretched partials, brighter attack, two-stage decay."""
    f = hz(midi)
    k = np.arange(1, 15, dtype=np.float64)
    ratios = k * np.sqrt(1 + 0.0004 * k**2)
    amps = (1 / k**1.4) * (1 + 0.6 * np.exp(-((k - 3) ** 2) / 4))
    ring = 3.2 * 2 ** (-(midi - 60) / 18)
    decays = ring / (1 + 0.55 * (k - 1))
    env = envelope(gate, 0.002, 0.3)
    n = env.size
    x = _partials(f, n, ratios, amps, decays)
    x += _partials(f * 1.0009, n, ratios[:3], amps[:3] * 0.5, decays[:3])  # second string: beating
    x *= 0.55 + 0.45 * np.exp(-_time(n).astype(np.float32) / 0.25)
    return _frozen(0.35 * x * env)


def epiano(midi: int, gate: int) -> Audio:
    """Two-operator FM electric piano with a short metallic tine."""
    f = hz(midi)
    env = envelope(gate, 0.003, 0.25)
    n = env.size
    t32 = _time(n).astype(np.float32)
    phase = _phase(f, n).astype(np.float32) * np.float32(2 * np.pi / 2**32)
    index = 1.6 * np.exp(-t32 / 0.3) + 0.35
    x = np.sin(phase + index * np.sin(phase))
    if f * 14 < 15000:
        x += 0.12 * _sine(f * 14, n) * np.exp(-t32 / 0.04)
    x *= np.exp(-t32 / (2.2 * 2 ** (-(midi - 60) / 24)))
    return _frozen(0.3 * x * env)


def pluck(midi: int, gate: int, ring: float = 1.4, bright: float = 0.5) -> Audio:
    """Modal plucked string (guitar-ish when ringing, pizzicato when short)."""
    f = hz(midi)
    k = np.arange(1, 17, dtype=np.float64)
    ratios = k * np.sqrt(1 + 0.00008 * k**2)
    amps = np.abs(np.sin(np.pi * k * 0.22)) / k ** (1.6 - bright)
    decays = ring / (1 + (k - 1) * (1.2 - bright) * np.sqrt(f / 220))
    env = envelope(gate, 0.0015, 0.12)
    x = _partials(f, env.size, ratios, amps, decays)
    return _frozen(0.4 * x * env)


def bell(midi: int, gate: int) -> Audio:
    """Glockenspiel/celesta-like struck bar with inharmonic partials."""
    env = envelope(gate, 0.001, 0.4)
    x = _partials(hz(midi), env.size, [1, 2.76, 5.4, 8.93], [1, 0.35, 0.15, 0.06],
                  [1.6, 0.5, 0.18, 0.08])
    return _frozen(0.3 * x * env)


@cache
def _table(shape: str, harmonics: int, corner: float) -> Audio:
    k = np.arange(1, harmonics + 1, dtype=np.float64)
    amps = {"saw": 1 / k, "square": np.where(k % 2 == 1, 1 / k, 0.0), "soft": 1 / k**2}[shape]
    if corner:  # a 12 dB/octave low-pass at harmonic number `corner`
        amps = amps / np.sqrt(1 + (k / corner) ** 4)
    # one period as a sum of sines, built in one inverse FFT
    size = 2**_TABLE_BITS
    spec = np.zeros(size // 2 + 1, np.complex128)
    spec[1:harmonics + 1] = -0.5j * size * amps
    tab = np.fft.irfft(spec, size)
    return _frozen(tab / np.abs(tab).max())


def osc(shape: str, freq: float, n: int, cap: int = 60, phase: float = 0.0,
        vibrato: float = 0.0, cutoff: float = 0.0) -> Audio:
    """Band-limited wavetable oscillator; cap limits harmonics, cutoff (Hz) is a fixed low-pass."""
    corner = round(cutoff / freq * 4) / 4 if cutoff else 0.0
    tab = _table(shape, max(1, min(cap, int(17000 / freq))), corner)
    if vibrato:
        # slow 5 Hz wobble for strings; integrate frequency so the pitch bends smoothly
        inst = freq * (1 + vibrato * np.sin(2 * np.pi * 5.1 * _time(n) + phase * 7))
        steps = np.round(inst / SR * 2**32).astype(np.int64) % 2**32
        ph = np.cumsum(steps.astype(np.uint32), dtype=np.uint32) + np.uint32(int(phase * 2**32))
    else:
        ph = _phase(freq, n, phase)
    out: Audio = tab[ph >> np.uint32(32 - _TABLE_BITS)]
    return out


def pad(midi: int, gate: int, attack: float, release: float, shape: str = "saw",
        detune: tuple[float, ...] = (-7.0, 6.0), cutoff: float = 2000.0, vibrato: float = 0.0,
        side: int = 0) -> Audio:
    """Detuned oscillator stack with slow envelope; side 1 mirrors the detune for stereo width."""
    env = envelope(gate, attack, release)
    x = np.zeros(env.size, np.float32)
    sign = -1 if side else 1
    for j, cents in enumerate(detune):
        x += osc(shape, hz(midi + sign * cents / 100), env.size, 60,
                 (midi * 0.37 + j * 0.29 + side * 0.5) % 1, vibrato, cutoff)
    return _frozen(0.2 * x * env / np.sqrt(len(detune)))


def bass(midi: int, gate: int, shape: str = "soft", cap: int = 6, decay: float = 0.5) -> Audio:
    """Round bass: a few harmonics, quick attack, gentle decay to sustain."""
    env = envelope(gate, 0.004, 0.07, decay=decay, sustain=0.6)
    x = osc(shape, hz(midi), env.size, cap) + 0.5 * osc("soft", hz(midi), env.size, 1)
    return _frozen(0.35 * x * env)


def saw_pluck(midi: int, gate: int) -> Audio:
    """Electronic pluck: bright saw that darkens quickly, like a closing filter."""
    env = envelope(gate, 0.002, 0.1)
    n = env.size
    t = _time(n).astype(np.float32)
    bright = osc("saw", hz(midi), n, 40) * np.exp(-t / 0.09)
    dark = osc("saw", hz(midi), n, 4) * np.exp(-t / 0.35)
    return _frozen(0.25 * (bright + dark) * env)


def _noise(n: int, seed: int) -> Audio:
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32)


def _decay(n: int, tau: float) -> Audio:
    out: Audio = np.exp(-_time(n).astype(np.float32) / np.float32(tau))
    return out


@cache
def drum(kind: str) -> Audio:
    """One fixed drum hit: kick, snare, clap, hat, open_hat, shaker, rim, tom, boom."""
    if kind in ("kick", "tom", "boom"):
        lo, hi, sweep, tau, length = {"kick": (46, 120, 0.03, 0.3, 0.5),
                                      "tom": (72, 60, 0.08, 0.45, 0.9),
                                      "boom": (32, 60, 0.2, 1.6, 4.0)}[kind]
        n = int(length * SR)
        t = _time(n)
        inst = lo + hi * np.exp(-t / sweep)
        x = np.sin(2 * np.pi * np.cumsum(inst) / SR).astype(np.float32) * _decay(n, tau)
        x[: int(0.003 * SR)] += 0.25 * _noise(int(0.003 * SR), 1)  # beater click
        out = 0.9 * x
    elif kind in ("snare", "rim"):
        n = int(0.35 * SR)
        body, tone, tau = (185.0, 0.5, 0.12) if kind == "snare" else (1700.0, 0.3, 0.025)
        nz = np.diff(_noise(n + 1, 2)) * 0.5 * _decay(n, tau)
        out = 0.4 * (nz + tone * np.sin(TAU * np.float32(body) * _time(n).astype(np.float32))
                     * _decay(n, tau * 0.7))
    elif kind == "clap":
        n = int(0.4 * SR)
        env = sum((_decay(n, 0.005) * (_time(n) >= d)).astype(np.float32) * 0.8
                  for d in (0.0, 0.011, 0.023)) + 0.6 * _decay(n, 0.09)
        out = 0.35 * _noise(n, 3) * env.astype(np.float32)
    else:  # metallic noise: hats and shaker
        tau, length = {"hat": (0.03, 0.2), "open_hat": (0.22, 0.8), "shaker": (0.05, 0.25)}[kind]
        n = int(length * SR)
        nz = np.diff(np.diff(_noise(n + 2, 4))) * 0.25
        env = _decay(n, tau)
        if kind == "shaker":
            env *= 1 - _decay(n, 0.012)
        out = 0.35 * nz * env
    fade = np.minimum(1, np.linspace(20, 0, out.size)).astype(np.float32)  # no click at the end
    return _frozen(out * fade)


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
    return _frozen(np.roll(y, PAD)[: x.size + 2 * PAD])


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
        nz = _noise(n, seed + ch)
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
