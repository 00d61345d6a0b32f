"""ws1ai: AI-driven, human-governed automation pipelines for Workspace ONE UEM."""

__all__ = ["__version__"]

__version__ = "0.1.0"
