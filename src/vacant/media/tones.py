"""Call-progress tones a prompt may start with: the Special Information Tone (SIT).

A SIT is three tone segments in rising frequency sent before an intercept announcement, so that
people and automatic dialers know the call failed, and why (ITU-T E.180, "special information
tone": segments of 950/1400/1800 Hz ± 50 Hz, 330 ± 70 ms each, at most 30 ms apart, -24 dBm0).
The North American refinement (Telcordia SR-2275 "Notes on the Network", Special Information
Tones, formerly Bellcore; also ANSI T1.401) encodes the reason
in the frequency and length of the first two segments: low frequencies 913.8 / 1370.6 Hz, high
985.2 / 1428.5 Hz, the third segment always 1776.7 Hz; short segments 274 ms, long 380 ms.

"Vacant Code" (VC: the number dialled is not assigned, what vacant answers) is
high-long, low-short, low-long: 985.2 Hz for 380 ms, 1370.6 Hz for 274 ms, 1776.7 Hz for 380 ms.

Pure: numpy only, no I/O.
"""

from __future__ import annotations

import numpy as np

#: (frequency in Hz, duration in seconds) of the three SR-2275 "Vacant Code" segments.
VACANT_CODE: tuple[tuple[float, float], ...] = (
    (985.2, 0.380),  # first segment: high frequency, long
    (1370.6, 0.274),  # second segment: low frequency, short
    (1776.7, 0.380),  # third segment: always low (1776.7 Hz), long
)
#: E.180: nominal level -24 dBm0. A 0 dBm0 sine peaks 3.14 dB below the G.711 overload point
#: (G.711 Table 5/6, the digital milliwatt), which 16-bit full scale stands for here.
LEVEL_DBM0 = -24.0
_DBM0_PEAK_DB = 3.14
#: Raised-cosine ramps at each segment's ends (no clicks; well inside the segment tolerances).
RAMP_SECONDS = 0.002
MIN_RATE = 8000
MAX_RATE = 48000


def sit_vacant_code(rate: int = 16000) -> bytes:
    """The SIT "Vacant Code" (SR-2275: high-long, low-short, low-long) at -24 dBm0, as mono
    signed 16-bit little-endian PCM at ``rate`` Hz (8000 to 48000). The segments follow one
    another without a gap (E.180 allows up to 30 ms); the whole lasts 1.034 s."""
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"rate must be {MIN_RATE} to {MAX_RATE} Hz, not {rate}")
    amplitude = 32767 * 10 ** ((LEVEL_DBM0 + _DBM0_PEAK_DB) / 20)
    ramp = int(rate * RAMP_SECONDS)
    envelope_edge = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    parts = []
    for frequency, seconds in VACANT_CODE:
        count = round(rate * seconds)
        t = np.arange(count) / rate
        segment = np.sin(2 * np.pi * frequency * t)
        segment[:ramp] *= envelope_edge
        segment[count - ramp :] *= envelope_edge[::-1]
        parts.append(segment)
    samples = np.round(np.concatenate(parts) * amplitude).astype("<i2")
    return samples.tobytes()
