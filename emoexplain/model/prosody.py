"""Frame-level prosody for the descriptor branch (beyond the paper; ``config.use_prosody``).

``emoexplain.acoustics.frame_track`` gives log-F0, voicing and energy every 10 ms; we sample them at the centres
of the encoder's 20 ms frames so they can be concatenated to the descriptor branch's weighted layer sum.
Values are absolute (not normalised per clip): the branch must tell high from low pitch, not only contours.
"""

from __future__ import annotations

import numpy as np

from emoexplain.audio import SAMPLE_RATE

N_FEATURES = 3                    # log-F0, voicing, energy
RECEPTIVE_FIELD = 400             # samples one HuBERT frame sees (25 ms at 16 kHz)


def prosody_features(samples: np.ndarray, n_frames: int, *, samples_per_frame: int = 320,
                     sample_rate: int = SAMPLE_RATE, track=None) -> np.ndarray:
    """samples (S,) float32 @16 kHz -> (n_frames, 3) float32: [log(F0 / 100 Hz) or 0, voiced 0..1, dBFS / 20].

    track: the clip's ``acoustics.frame_track`` when the caller already has it (not computed again).
    """
    if track is None:
        from emoexplain.acoustics import frame_track
        track = frame_track(np.asarray(samples, dtype=np.float32), sample_rate)
    times = np.asarray(track.times_s, dtype=np.float64)
    out = np.zeros((n_frames, N_FEATURES), dtype=np.float32)
    if n_frames == 0 or len(times) == 0:
        return out
    centres = (np.arange(n_frames) * samples_per_frame + RECEPTIVE_FIELD / 2) / sample_rate
    f0 = np.asarray(track.f0_hz, dtype=np.float64)
    voiced = np.asarray(track.voiced, dtype=bool) & np.isfinite(f0) & (f0 > 0)
    log_f0 = np.where(voiced, np.log(np.where(voiced, f0, 100.0) / 100.0), 0.0)
    energy = np.clip(np.nan_to_num(np.asarray(track.energy_db, dtype=np.float64), nan=-100.0) / 20.0, -5.0, 1.0)
    out[:, 0] = np.interp(centres, times, log_f0)
    out[:, 1] = np.interp(centres, times, voiced.astype(np.float64))
    out[:, 2] = np.interp(centres, times, energy)
    return out
