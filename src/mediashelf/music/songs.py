"""The built-in system music: the catalogue and each track's arrangement, synthesised here."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mediashelf.music import mixing, synth
from mediashelf.music.mixing import MAJOR, MINOR, Rhythm, Song, Stem
from mediashelf.music.synth import SR, Audio

LIBRARY_VERSION = 1  # raise it with any change to the sound: rendered files carry it


@dataclass(frozen=True)
class Track:
    slug: str
    name: str
    mood: str
    bpm: int
    seconds: float
    genre: str = ""

    @property
    def tags(self) -> list[str]:
        """Its moods and genre, as the system library tags it."""
        return sorted({m.strip() for m in self.mood.split(",")} | {self.genre} - {""})


TRACKS: tuple[Track, ...] = (
    Track("morning-light", "Morning Light", "calm, acoustic, hopeful", 72, 57.3, "folk"),
    Track("upbeat-corporate", "Upbeat Corporate", "upbeat, positive, business", 118, 59.9,
          "corporate"),
    Track("lofi-study", "Lo-fi Study", "relaxed, jazzy, lo-fi", 84, 60.1, "hip-hop"),
    Track("cinematic-rise", "Cinematic Rise", "epic, building, dramatic", 90, 69.0, "cinematic"),
    Track("tech-pulse", "Tech Pulse", "electronic, energetic, modern", 128, 63.0, "electronic"),
    Track("warm-piano", "Warm Piano", "emotional, gentle, solo piano", 66, 63.2, "piano"),
    Track("playful-pizzicato", "Playful Pizzicato", "playful, light, quirky", 112, 54.4,
          "orchestral"),
    Track("deep-focus", "Deep Focus", "ambient, spacious, concentration", 60, 70.0, "ambient"),
)

def _morning_light(s: Song) -> None:
    prog = [0, 4, 5, 3]
    guitar = s.stem(pan=-0.25, low=90, high=7000, send=0.2)
    padst = s.stem(stereo=True, send=0.3)
    bassst = s.stem(low=35, high=800, send=0.05)
    lead = s.stem(pan=0.2, low=200, high=8000, send=0.3)
    shaker = s.stem(pan=0.35, low=3000, send=0.1)
    order = [0, 2, 1, 3, 2, 3, 1, 2]
    for bar in range(s.bars):
        deg = prog[bar % 4]
        tones = [s.pitch(deg, 3), *s.voice(deg, 57), s.pitch(deg, 5)]
        for i, j in enumerate(order):
            s.play(guitar, synth.pluck, bar * 4 + i / 2, 1.5, tones[j], 0.8 if i % 2 else 1.0, 1.6)
        chord = s.voice(deg, 55)
        for m in chord:
            s.play(padst, _stereo_pad, bar * 4, 4, m, 0.5 if bar < 4 else 0.8)
        if bar >= 4:
            s.play(bassst, synth.bass, bar * 4, 2, s.pitch(deg, 2))
            s.play(bassst, synth.bass, bar * 4 + 2, 2, s.pitch(deg + 4, 2), 0.8)
        if bar >= 12:
            s.hits(shaker, "shaker", range(bar, bar + 1), [0.5, 1.5, 2.5, 3.5], 0.5)
    rhythms: list[Rhythm] = [
        [(0, 1.5), (1.5, 0.5), (2, 2)],
        [(0, 1), (1, 1), (2, 2)],
        [(0, 3), (3, 1)],
        [(0, 2), (2, 1.5), (3.5, 0.5)],
    ]
    tune = s.melody(prog * 2, rhythms, 66, 81)
    for start in (16, 48):
        for b, d, m in tune:
            if start + b < s.bars * 4:
                s.play(lead, synth.pluck, start + b, d + 0.5, m, 0.9, 2.0, 0.7)
    _final(s, guitar, synth.pluck, prog[0], 57)
    guitar.scale(s.curve([(0, 0.8), (4, 1.0)]))


def _stereo_pad(midi: int, gate: int, side: int = 0) -> Audio:
    return synth.pad(midi, gate, 0.6, 1.2, "saw", (-8.0, 3.0), 1600, side=side)


def _final(s: Song, stem: Stem, inst: Callable[..., Audio], deg: int, low: int) -> None:
    """Close on the tonic: a rolled chord on the downbeat after the last bar."""
    for i, m in enumerate([s.pitch(deg, 2), *s.voice(deg, low, 3)]):
        s.play(stem, inst, s.bars * 4 + i * 0.08, 6, m, 0.9)


def _upbeat_corporate(s: Song) -> None:
    prog = [3, 0, 4, 5]
    keys = s.stem(pan=-0.15, low=150, high=9000, send=0.12)
    bassst = s.stem(low=35, high=900, send=0.0)
    drums = s.stem(low=30, high=12000, send=0.05)
    hats = s.stem(pan=0.3, low=5000, send=0.05)
    lead = s.stem(pan=0.15, low=250, high=10000, send=0.22)
    padst = s.stem(stereo=True, send=0.25)
    full = [b for b in range(s.bars) if not 20 <= b < 24]
    for bar in range(s.bars):
        deg = prog[bar % 4]
        for on in (0, 0.5, 1.5, 2, 2.5, 3.5):
            for m in s.voice(deg, 60):
                s.play(keys, synth.piano, bar * 4 + on, 0.4, m, 0.55 if on % 1 else 0.75)
        if bar >= 4:
            for i in range(8):
                s.play(bassst, synth.bass, bar * 4 + i / 2, 0.4, s.pitch(deg, 2), 0.9, "saw", 8)
        if 12 <= bar < 20 or bar >= 24:
            for m in s.voice(deg, 60, 4):
                s.play(padst, _stereo_pad, bar * 4, 4, m, 0.5)
    beats = [b for b in full if b >= 4]
    for bar in beats:
        s.hits(drums, "kick", range(bar, bar + 1), [0, 1, 2, 3], 0.9)
        s.hits(drums, "clap", range(bar, bar + 1), [1, 3], 0.5)
        s.hits(hats, "hat", range(bar, bar + 1), [0.5, 1.5, 2.5, 3.5], 0.6)
        if bar >= 12:
            s.hits(hats, "shaker", range(bar, bar + 1), [i / 4 for i in range(16)], 0.25)
    rhythms: list[Rhythm] = [
        [(0, 0.5), (0.5, 0.5), (1, 1), (2, 0.5), (2.5, 1.5)],
        [(0, 1.5), (1.5, 1), (2.5, 1.5)],
        [(0, 1), (1, 0.5), (1.5, 0.5), (2, 2)],
        [(0.5, 0.5), (1, 0.5), (1.5, 1.5), (3, 1)],
    ]
    tune = s.melody(prog * 2, rhythms, 67, 84)
    for start in (48, 80):
        for b, d, m in tune:
            if start + b < min(s.bars, 28) * 4:
                s.play(lead, synth.pluck, start + b, d, m, 0.8, 0.8, 0.8)
                s.play(lead, synth.bell, start + b, d, m + 12, 0.25)
    padst.scale(s.duck(range(4, s.bars), 0.5))
    bassst.scale(s.duck(range(4, s.bars), 0.35))
    _final(s, keys, synth.piano, prog[1], 60)


def _lofi_study(s: Song) -> None:
    prog = [1, 4, 0, 5]
    keys = s.stem(pan=-0.1, low=120, high=4200, send=0.2)
    bassst = s.stem(low=35, high=700, send=0.0)
    drums = s.stem(low=40, high=5000, send=0.08)
    hats = s.stem(pan=0.25, low=4000, high=9000, send=0.05)
    lead = s.stem(pan=0.2, low=250, high=5000, send=0.3)
    vinyl = s.stem(send=0.0)
    for bar in range(s.bars):
        deg = prog[bar % 4]
        chord = s.voice(deg, 53, 4)
        for on, length in ((0, 1.4), (1.5, 2.3)):
            for i, m in enumerate(chord):
                s.play(keys, synth.epiano, bar * 4 + on + 0.02 * i, length, m, 0.7)
        if bar >= 2:
            s.play(bassst, synth.bass, bar * 4, 1.4, s.pitch(deg, 2), 0.75, "soft", 3, 0.3)
            s.play(bassst, synth.bass, bar * 4 + 2.5, 1.2, s.pitch(deg + 4, 2), 0.6, "soft", 3, 0.3)
        if bar >= 4:
            s.hits(drums, "kick", range(bar, bar + 1), [0, 1.75, 2.5], 0.9, 0.006)
            s.hits(drums, "snare", range(bar, bar + 1), [1, 3], 0.45, 0.006)
            for i in range(8):
                s.hits(hats, "hat", range(bar, bar + 1), [i / 2], 0.55 if i % 2 else 0.35, 0.006)
    rhythms: list[Rhythm] = [
        [(0.5, 0.5), (1, 1), (2.5, 1.5)],
        [(0, 1.5), (2, 0.5), (2.5, 0.5), (3, 1)],
        [(1, 0.5), (1.5, 2.5)],
        [(0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 2)],
    ]
    for b, d, m in s.melody(prog * 2, rhythms, 69, 81):
        if 32 + b < s.bars * 4:
            s.play(lead, synth.epiano, 32 + b, d, m, 0.6)
    rng = np.random.default_rng(7)
    hiss = np.diff(rng.standard_normal(s.n + 1)).astype(np.float32) * 0.002
    clicks = (rng.random(s.n) < 3 / SR) * rng.standard_normal(s.n) * 0.1
    vinyl.add(0, hiss + np.convolve(clicks, [0.5, 1, 0.5], "same").astype(np.float32))
    _final(s, keys, synth.epiano, prog[2], 53)


def _cinematic_rise(s: Song) -> None:
    prog = [0, 5, 2, 6]
    s.reverb = (3.2, 4500.0)
    strings = s.stem(stereo=True, send=0.35)
    ost = s.stem(pan=-0.2, low=40, high=3000, send=0.15)
    low = s.stem(low=25, high=300, send=0.05)
    drums = s.stem(low=25, high=6000, send=0.25)
    lead = s.stem(pan=0.15, low=150, high=3500, send=0.4)
    riser = s.stem(low=1500, high=9000, send=0.4, stereo=False)
    for bar in range(s.bars):
        deg = prog[bar % 4]
        for m in s.voice(deg, 50, 4):
            s.play(strings, _strings, bar * 4, 4, m, 0.8)
        s.play(low, synth.bass, bar * 4, 4, s.pitch(deg, 1), 0.9, "soft", 2, 2.0)
        if bar >= 4:
            for i in range(8):
                m = s.pitch(deg, 2) + (12 if i % 4 == 2 else 7 if i % 4 == 3 else 0)
                s.play(ost, synth.piano, bar * 4 + i / 2, 0.45, m, 0.6 + 0.05 * (i % 2 == 0))
        if bar >= 8:
            s.hits(drums, "tom", range(bar, bar + 1), [0, 1.5, 2] if bar < 16 else
                   [0, 1, 1.5, 2, 3, 3.5], 0.7 if bar < 16 else 1.0)
        if bar >= 16 and bar % 4 == 3:
            s.hits(drums, "tom", range(bar, bar + 1), [3.25, 3.5, 3.75], 0.6)
    s.hits(drums, "boom", range(16, 17), [0], 1.0)
    rhythms: list[Rhythm] = [
        [(0, 2), (2, 2)],
        [(0, 3), (3, 1)],
        [(0, 4)],
        [(0, 1.5), (1.5, 0.5), (2, 2)],
    ]
    for b, d, m in s.melody(prog * 2, rhythms, 62, 77):
        if 48 + b < s.bars * 4:
            s.play(lead, _brass, 48 + b, d, m, 0.8)
    n = s.gate(8)
    swell = np.random.default_rng(3).standard_normal(n).astype(np.float32)
    riser.add(s.pos(14 * 4, 0), swell * np.linspace(0, 1, n, dtype=np.float32) ** 3 * 0.3)
    strings.scale(s.curve([(0, 0.35), (8, 0.6), (16, 1.0), (24, 1.0)]))
    ost.scale(s.curve([(4, 0.5), (16, 1.0)]))
    _final(s, strings, _strings, prog[0], 50)
    s.hits(drums, "boom", range(s.bars, s.bars + 1), [0], 1.0)


def _strings(midi: int, gate: int, side: int = 0) -> Audio:
    return synth.pad(midi, gate, 0.9, 1.5, "saw", (-6.0, 0.0, 7.0), 2400, 0.003, side)


def _brass(midi: int, gate: int) -> Audio:
    return synth.pad(midi, gate, 0.15, 0.5, "saw", (-4.0, 4.0), 1800, 0.002)


def _tech_pulse(s: Song) -> None:
    prog = [0, 3, 5, 4]
    arp = s.stem(pan=-0.3, low=250, high=7000, send=0.2)
    echo = s.stem(pan=0.45, low=400, high=4000, send=0.3)
    bassst = s.stem(low=35, high=1400, send=0.0)
    drums = s.stem(low=30, high=12000, send=0.04)
    hats = s.stem(pan=0.2, low=6000, send=0.04)
    padst = s.stem(stereo=True, send=0.3)
    lead = s.stem(pan=0.1, low=300, high=8000, send=0.25)
    groove = [b for b in range(4, min(s.bars, 28)) if not 16 <= b < 20]
    order = [0, 1, 2, 3, 4, 3, 2, 1]
    for bar in range(s.bars):
        deg = prog[bar % 4]
        tones = [*s.voice(deg, 57), *[m + 12 for m in s.voice(deg, 57)]]
        for i in range(16):
            m = tones[order[i % 8] + (1 if i >= 8 else 0)]
            s.play(arp, synth.saw_pluck, bar * 4 + i / 4, 0.2, m, 0.8 if i % 4 else 1.0)
            s.play(echo, synth.saw_pluck, bar * 4 + i / 4 + 0.75, 0.2, m, 0.35)
        for m in s.voice(deg, 55, 4):
            s.play(padst, _stereo_pad, bar * 4, 4, m, 0.7)
        if bar in groove or 16 <= bar < 20:
            for i in range(4):
                s.play(bassst, synth.bass, bar * 4 + i + 0.5, 0.45, s.pitch(deg, 2), 1.0, "saw", 10)
    for bar in groove:
        s.hits(drums, "kick", range(bar, bar + 1), [0, 1, 2, 3], 1.0, 0.0)
        s.hits(drums, "clap", range(bar, bar + 1), [1, 3], 0.6, 0.0)
        s.hits(hats, "hat", range(bar, bar + 1), [i / 4 for i in range(16)], 0.35, 0.0)
        s.hits(hats, "open_hat", range(bar, bar + 1), [0.5, 1.5, 2.5, 3.5], 0.35, 0.0)
    rhythms: list[Rhythm] = [
        [(0, 0.75), (0.75, 0.75), (1.5, 2.5)],
        [(0, 0.5), (0.5, 1), (2, 0.5), (2.5, 1.5)],
    ]
    for start in (32, 80):
        for b, d, m in s.melody(prog * 2, rhythms, 69, 84):
            if start + b < min(s.bars, 28) * 4:
                s.play(lead, synth.saw_pluck, start + b, d, m, 0.7)
    pump = s.duck(range(4, s.bars), 0.7)
    for st in (padst, bassst):
        st.scale(pump)
    arp.scale(s.curve([(0, 0.6), (4, 1.0), (28, 1.0), (s.bars, 0.5)]))
    _final(s, padst, _stereo_pad, prog[0], 55)


def _warm_piano(s: Song) -> None:
    prog = [0, 2, 3, 4, 5, 3, 0, 4]
    s.reverb = (2.8, 4000.0)
    left = s.stem(pan=-0.2, low=40, high=6000, send=0.3)
    right = s.stem(pan=0.15, low=150, high=8000, send=0.3)
    padst = s.stem(stereo=True, send=0.4)
    for bar in range(s.bars):
        deg = prog[bar % 8]
        root = s.pitch(deg, 2)
        broken = [root, root + 7, root + 12, s.pitch(deg + 2, 3), root + 12, root + 7]
        for i, m in enumerate(broken):
            s.play(left, synth.piano, bar * 4 + i * 2 / 3, 1.5, m, 0.75 if i else 0.9)
        if bar >= 8:
            for m in s.voice(deg, 55):
                s.play(padst, _stereo_pad, bar * 4, 4, m, 0.45)
    rhythms: list[Rhythm] = [
        [(0, 1.5), (1.5, 0.5), (2, 2)],
        [(0, 1), (1, 1), (2, 1), (3, 1)],
        [(0, 3), (3, 1)],
        [(1, 1), (2, 2)],
    ]
    tune = s.melody(prog, rhythms, 67, 82)
    for start in (8, 40):
        for b, d, m in tune:
            if start + b < s.bars * 4:
                s.play(right, synth.piano, start + b, d, m, 0.85)
                if b % 4 == 0 and start == 40:
                    s.play(right, synth.piano, start + b, d, m - 12, 0.4)
    _final(s, left, synth.piano, prog[0], 55)


def _playful_pizzicato(s: Song) -> None:
    prog = [0, 3, 4, 0, 0, 5, 1, 4]
    strings = s.stem(pan=-0.2, low=80, high=7000, send=0.2)
    lead = s.stem(pan=0.2, low=200, high=9000, send=0.2)
    glock = s.stem(pan=0.35, low=600, send=0.3)
    perc = s.stem(pan=-0.1, low=40, high=10000, send=0.1)
    for bar in range(s.bars):
        deg = prog[bar % 8]
        s.play(strings, synth.pluck, bar * 4, 1, s.pitch(deg, 2), 1.0, 0.35, 0.6)
        s.play(strings, synth.pluck, bar * 4 + 2, 1, s.pitch(deg + 4, 2), 0.9, 0.35, 0.6)
        for on in (1, 3):
            for m in s.voice(deg, 59):
                s.play(strings, synth.pluck, bar * 4 + on, 0.5, m, 0.45, 0.25, 0.7)
        if bar >= 4:
            s.hits(perc, "shaker", range(bar, bar + 1), [0.5, 1.5, 2.5, 3.5], 0.35)
            s.hits(perc, "rim", range(bar, bar + 1), [1, 3], 0.35)
            s.hits(perc, "kick", range(bar, bar + 1), [0, 2], 0.45)
    rhythms: list[Rhythm] = [
        [(0, 0.5), (0.5, 0.5), (1, 0.5), (2, 0.5), (2.5, 0.5), (3, 0.5)],
        [(0, 0.5), (1, 0.5), (1.5, 0.5), (2, 1)],
        [(0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 0.5), (2, 1.5)],
    ]
    tune = s.melody(prog, rhythms, 71, 86)
    for start in (16, 48):
        for b, d, m in tune:
            if start + b < s.bars * 4:
                s.play(lead, synth.pluck, start + b, d * 0.6, m, 0.9, 0.3, 0.8)
                if start == 48:
                    s.play(glock, synth.bell, start + b, d, m + 12, 0.4)
    _final(s, strings, synth.pluck, prog[0], 59)


def _deep_focus(s: Song) -> None:
    prog = [0, 5, 2, 3]
    s.reverb = (4.5, 3500.0)
    pads = s.stem(stereo=True, send=0.45)
    air = s.stem(stereo=True, send=0.5)
    sub = s.stem(low=25, high=200, send=0.0)
    bells = s.stem(pan=0.25, low=300, high=9000, send=0.6)
    for bar in range(s.bars):
        deg = prog[bar % 4]
        for m in s.voice(deg, 52, 4):
            s.play(pads, _ambient_pad, bar * 4, 4, m, 0.9)
        if bar >= 2:
            for m in s.voice(deg, 64):
                s.play(air, _air_pad, bar * 4, 4, m, 0.4)
        s.play(sub, synth.bass, bar * 4, 4, s.pitch(deg, 2), 0.8, "soft", 1, 3.0)
        if bar >= 4:
            tones = s.voice(deg, 72, 4)
            for beat in np.arange(0, 4, 0.5):
                if s.rng.random() < 0.3:
                    s.play(bells, synth.bell, bar * 4 + beat, 2, int(s.rng.choice(tones)), 0.5)
    pads.scale(s.curve([(0, 0.7), (4, 1.0), (12, 1.0), (s.bars, 0.8)]))
    _final(s, pads, _ambient_pad, prog[0], 52)


def _ambient_pad(midi: int, gate: int, side: int = 0) -> Audio:
    return synth.pad(midi, gate, 1.8, 2.5, "saw", (-9.0, -2.0, 5.0), 1200, side=side)


def _air_pad(midi: int, gate: int, side: int = 0) -> Audio:
    return synth.pad(midi, gate, 2.0, 2.5, "square", (-5.0, 5.0), 3000, 0.002, side)


_ARRANGE: dict[str, tuple[Callable[[Song], None], int, Sequence[int], float, float]] = {
    "morning-light": (_morning_light, 62, MAJOR, 4.0, 0.0),
    "upbeat-corporate": (_upbeat_corporate, 60, MAJOR, 3.0, 0.0),
    "lofi-study": (_lofi_study, 65, MAJOR, 3.0, 0.16),
    "cinematic-rise": (_cinematic_rise, 62, MINOR, 5.0, 0.0),
    "tech-pulse": (_tech_pulse, 57, MINOR, 3.0, 0.0),
    "warm-piano": (_warm_piano, 63, MAJOR, 5.0, 0.0),
    "playful-pizzicato": (_playful_pizzicato, 67, MAJOR, 3.0, 0.0),
    "deep-focus": (_deep_focus, 64, MINOR, 6.0, 0.0),
}


def synthesise(track: Track) -> Audio:
    """The mastered (2, n) float32 signal of a track at 44.1 kHz."""
    arrange, key, scale, tail, swing = _ARRANGE[track.slug]
    seed = zlib.crc32(track.slug.encode())
    song = Song(seed, track.bpm, track.seconds, key, scale, tail, swing)
    arrange(song)
    ir = mixing.reverb_ir(*song.reverb, seed=seed % 1000)
    return mixing.master(mixing.render_mix(song.stems, song.n, ir))
