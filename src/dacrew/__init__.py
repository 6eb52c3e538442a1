"""dacrew: a crew of AI specialists that delivers an analytics feature from a task plan."""

__version__ = "0.1.0"
