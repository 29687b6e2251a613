"""Errors the engine raises with a message meant for the user."""


class ConvVizError(Exception):
    """A problem the user can act on; ``str(error)`` is one readable sentence."""


class OfflineWeightsError(ConvVizError):
    """Pretrained weights are neither cached nor downloadable right now."""


class CancelledError(ConvVizError):
    """A long job stopped because the caller asked it to."""
