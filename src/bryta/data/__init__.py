"""Data files bundled with bryta (see PROVENANCE.md); read them with importlib.resources."""
