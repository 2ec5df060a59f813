"""Errors a loader raises; the message is shown to an editor, so it says what is wrong."""

from __future__ import annotations


class LoaderError(Exception):
    """The file could not be read as the format it claims to be."""


class NotFaqSheet(LoaderError):
    """A sheet without recognisable question/answer columns (e.g. an evaluation set); skipped."""
