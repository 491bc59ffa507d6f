"""A small numpy synthesiser for the built-in music: instruments and drums (see mixing.py)."""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]
SR = 44100
TAU = np.float32(2 * np.pi)
_TABLE_BITS = 14  # big enough that a plain lookup is clean (error below -70 dB)


def hz(midi: float) -> float:
    """Equal-tempered frequency of a MIDI note number."""
    return float(440.0 * 2 ** ((midi - 69) / 12))


def frozen(x: npt.NDArray[np.floating]) -> Audio:
    """Contiguous float32 copy marked read-only."""
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
    return frozen(0.35 * x * env)


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
    return frozen(0.3 * x * env)


def pluck(midi: int, gate: int, ring: float = 1.4, bright: float = 0.5) -> Audio:
    """Modal plucked string (guitar-ish when ringing, pizzicato when short)."""
    f = hz(midi)
    k = np.arange(1, 17, dtype=np.float64)
    ratios = k * np.sqrt(1 + 0.00008 * k**2)
    amps = np.abs(np.sin(np.pi * k * 0.22)) / k ** (1.6 - bright)
    decays = ring / (1 + (k - 1) * (1.2 - bright) * np.sqrt(f / 220))
    env = envelope(gate, 0.0015, 0.12)
    x = _partials(f, env.size, ratios, amps, decays)
    return frozen(0.4 * x * env)


def bell(midi: int, gate: int) -> Audio:
    """Glockenspiel/celesta-like struck bar with inharmonic partials."""
    env = envelope(gate, 0.001, 0.4)
    x = _partials(hz(midi), env.size, [1, 2.76, 5.4, 8.93], [1, 0.35, 0.15, 0.06],
                  [1.6, 0.5, 0.18, 0.08])
    return frozen(0.3 * x * env)


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
    return frozen(tab / np.abs(tab).max())


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
    return frozen(0.2 * x * env / np.sqrt(len(detune)))


def bass(midi: int, gate: int, shape: str = "soft", cap: int = 6, decay: float = 0.5) -> Audio:
    """Round bass: a few harmonics, quick attack, gentle decay to sustain."""
    env = envelope(gate, 0.004, 0.07, decay=decay, sustain=0.6)
    x = osc(shape, hz(midi), env.size, cap) + 0.5 * osc("soft", hz(midi), env.size, 1)
    return frozen(0.35 * x * env)


def saw_pluck(midi: int, gate: int) -> Audio:
    """Electronic pluck: bright saw that darkens quickly, like a closing filter."""
    env = envelope(gate, 0.002, 0.1)
    n = env.size
    t = _time(n).astype(np.float32)
    bright = osc("saw", hz(midi), n, 40) * np.exp(-t / 0.09)
    dark = osc("saw", hz(midi), n, 4) * np.exp(-t / 0.35)
    return frozen(0.25 * (bright + dark) * env)


def noise(n: int, seed: int) -> Audio:
    """Seeded white noise, the same on every run."""
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
        x[: int(0.003 * SR)] += 0.25 * noise(int(0.003 * SR), 1)  # beater click
        out = 0.9 * x
    elif kind in ("snare", "rim"):
        n = int(0.35 * SR)
        body, tone, tau = (185.0, 0.5, 0.12) if kind == "snare" else (1700.0, 0.3, 0.025)
        nz = np.diff(noise(n + 1, 2)) * 0.5 * _decay(n, tau)
        out = 0.4 * (nz + tone * np.sin(TAU * np.float32(body) * _time(n).astype(np.float32))
                     * _decay(n, tau * 0.7))
    elif kind == "clap":
        n = int(0.4 * SR)
        env = sum((_decay(n, 0.005) * (_time(n) >= d)).astype(np.float32) * 0.8
                  for d in (0.0, 0.011, 0.023)) + 0.6 * _decay(n, 0.09)
        out = 0.35 * noise(n, 3) * env.astype(np.float32)
    else:  # metallic noise: hats and shaker
        tau, length = {"hat": (0.03, 0.2), "open_hat": (0.22, 0.8), "shaker": (0.05, 0.25)}[kind]
        n = int(length * SR)
        nz = np.diff(np.diff(noise(n + 2, 4))) * 0.25
        env = _decay(n, tau)
        if kind == "shaker":
            env *= 1 - _decay(n, 0.012)
        out = 0.35 * nz * env
    fade = np.minimum(1, np.linspace(20, 0, out.size)).astype(np.float32)  # no click at the end
    return frozen(out * fade)
