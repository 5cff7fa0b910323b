"""What a demo stage raises when it can say why it cannot go on (no input, every item rejected, a
job that died): `vigia demo` prints the message, keeps the summary so far, and exits non-zero."""


class StageError(RuntimeError):
    """A diagnosed stop: one or two lines that say what happened and why, no traceback."""
