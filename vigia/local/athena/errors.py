"""What a failed query raises: one line that says why."""


class AthenaError(Exception):
    """A query Athena would refuse (syntax error, unknown table or column), or one the local Athena
    cannot run (the message then starts with NOT_SUPPORTED)."""


NOT_SUPPORTED = "not supported by the local Athena"


def unsupported(what: str) -> AthenaError:
    return AthenaError(f"{NOT_SUPPORTED}: {what}")
