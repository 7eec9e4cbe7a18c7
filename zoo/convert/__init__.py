"""Readers of foreign weights formats and key converters shared by several families."""
