"""G.722 prompts are encoded one second at a time with one encoder: the same payloads."""

import G722
import numpy as np

from vacant.media import frames
from vacant.media.offer_answer import Codec


def test_g722_encoded_in_one_second_pieces_equals_one_call_over_the_whole_prompt() -> None:
    """The encoder's state (ADPCM predictors, RFC 3551 §4.5.2's G.722) carries over the pieces:
    2.51 s of a sweep, three pieces the last one partial, give the payloads of one call."""
    n = np.arange(int(2.51 * frames.INPUT_RATE))
    sweep = 9000 * np.sin(2 * np.pi * (200 + 0.6 * n / frames.INPUT_RATE * 1000) * n / 16000)
    samples = np.rint(sweep).astype(np.int16)
    assert len(samples) > 2 * frames.G722_CHUNK
    padded = np.concatenate([samples, np.zeros(-len(samples) % 320, dtype=np.int16)])
    whole = bytes(G722.G722(frames.INPUT_RATE, frames.G722_BITRATE).encode(padded))
    payloads = frames.encode(samples.astype("<i2").tobytes(), Codec.G722)
    assert b"".join(payloads) == whole
    assert len(payloads) == len(padded) // 320
