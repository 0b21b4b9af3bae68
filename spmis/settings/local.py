"""Local development and the demo: DEBUG only when DJANGO_DEBUG asks for it."""

from .base import *  # noqa: F403
