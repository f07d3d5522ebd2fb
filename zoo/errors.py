"""How an error is told to a user: one line, without the framework's decorations.

Example:
    except OSError as error:
        raise ValueError(f"Cannot read {path!r} ({error_reason(error)}).") from None
"""

import re

import tensorflow as tf


def error_reason(error):
    """The first line of an error's message, without TF's "{{function_node ...}}" and "[Op:...]" decorations.

    Falls back to the error's type name when nothing is left (an empty message).
    """
    text = error.message if isinstance(error, tf.errors.OpError) else (getattr(error, "strerror", None) or str(error))
    first = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:\w+\]", "", first).strip() or type(error).__name__
