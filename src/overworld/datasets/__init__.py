"""MIDI collections: a registry of sources (free game soundtracks, Lakh, VGMusic, any URL or folder),
verified downloads and safe archive extraction."""

from __future__ import annotations

from overworld.datasets.registry import SOURCES, FetchOptions, Source, fetch, get_source, sources

__all__ = ["SOURCES", "FetchOptions", "Source", "fetch", "get_source", "sources"]
