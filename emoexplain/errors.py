"""One exception family for everything a user can get wrong.

Library code raises these; only the edges (CLI, app.py, train/ scripts) catch them and turn
them into exit codes or ``gr.Error``. Each message says what happened *and what to do*.
"""


class EmoExplainError(Exception):
    """Base class: a problem the user can fix (bad input, bad config, missing file)."""


# --- audio input -------------------------------------------------------------------------
class AudioError(EmoExplainError):
    """The audio could not be used."""


class AudioNotFound(AudioError):
    """No file at the given path."""


class AudioUnreadable(AudioError):
    """The file exists but is not audio we can decode."""


class AudioEmpty(AudioError):
    """The audio has no samples."""


class AudioSilent(AudioError):
    """The audio holds no signal above the noise floor."""


class AudioTooShort(AudioError):
    """The audio is shorter than the minimum length."""


class AudioInvalidSamples(AudioError):
    """The samples contain NaN or infinite values."""


# --- annotation store ----------------------------------------------------------------------
class StoreError(EmoExplainError):
    """A store operation was refused; nothing was written."""


class InvalidJudgement(StoreError):
    """A judgement field is missing, of the wrong type or out of range."""


class UnknownLabel(InvalidJudgement):
    """An emotion or descriptor value that is not in the active vocabulary."""


class NoteTooLong(InvalidJudgement):
    """A free-text note exceeds the size limit."""


class AnalysisNotFound(StoreError):
    """The analysis id does not exist in the store."""


# --- model / checkpoints / configs -----------------------------------------------------------
class ConfigError(EmoExplainError):
    """A configuration value is unknown, missing or of the wrong type."""


class CheckpointError(EmoExplainError):
    """A checkpoint folder or hub id cannot be loaded."""


class CheckpointMismatch(CheckpointError):
    """The checkpoint was trained for a different backbone or vocabulary than requested."""


# --- annotation store (appended by the store) ----------------------------------------------------
class InvalidAnalysis(StoreError):
    """An explanation passed to record_analysis is missing a field or has the wrong type."""


class RestoreRefused(StoreError):
    """A backup file cannot be restored (not an emoexplain store, corrupt, or newer schema)."""


# --- audio input (appended by issue 10) ------------------------------------------------------------
class AudioUnsupported(AudioError):
    """The file is audio, but of a kind we refuse to decode (absurd rate or channel count, endless decode)."""


# --- annotation store (appended by issue 10) -----------------------------------------------------
class StoreFull(StoreError):
    """The disk (or volume) holding the store is full; nothing was written."""


class StoreReadOnly(StoreError):
    """The store's folder or file cannot be written; nothing was written."""


class NotYourAnalysis(InvalidJudgement):
    """The analysis token does not match: only the session that made an analysis may judge it."""


class AudioGone(InvalidJudgement):
    """Consent was given, but the analysed audio is no longer on the server; nothing was saved."""


# --- learning rounds (appended by train/rounds) ------------------------------------------------------
class RoundError(EmoExplainError):
    """A from-store round cannot run on this store or checkpoint; nothing was written."""


# --- annotation campaigns (issue 13) --------------------------------------------------------------
class CampaignError(StoreError):
    """A campaign cannot be created or used as asked; nothing was written."""


class CampaignNotFound(CampaignError):
    """No campaign of that name."""


class LeaseLost(CampaignError):
    """A campaign clip's token is unknown or its lease ran out and the clip has since been judged enough."""


class AdminRequired(EmoExplainError):
    """An admin-only action (review, export, checkpoint switch) in a session that was not unlocked."""


class TooManyAttempts(EmoExplainError):
    """Too many wrong admin tokens: wait ``retry_after_s`` seconds (appended by issue 10)."""

    def __init__(self, retry_after_s: float):
        import math
        self.retry_after_s = retry_after_s
        super().__init__(f"Too many wrong admin tokens: wait {math.ceil(retry_after_s)} s, then try again.")
