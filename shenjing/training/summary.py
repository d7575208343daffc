"""Moved to ``shenjing.nn.summary`` (a model's layer table needs nothing from training);
this name stays for code that imports it from here."""

from shenjing.nn.summary import summary

__all__ = ["summary"]
