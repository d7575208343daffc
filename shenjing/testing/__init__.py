"""Test helpers that ship with shenjing: the strict stand-in for a GPU backend."""
